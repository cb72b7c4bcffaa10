"""The names of the outputs `cadenza render` makes (a module of its own: the parser reads them
without loading the MIDI and drawing libraries)."""

FORMATS = ("wav", "musicxml", "svg", "png", "roll")
NOTATION_FORMATS = ("musicxml", "svg", "png")
FORMAT_HELP = "wav (audio), musicxml, svg and png (sheet music), roll (piano-roll PNG)"
