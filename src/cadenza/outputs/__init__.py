"""Outputs people can hear and read: audio (FluidSynth), sheet music (music21, verovio), a roll."""
