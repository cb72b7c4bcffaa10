"""`cadenza evaluate`: how well a trained run predicts and what music it makes.

accuracy.py     teacher-forced and free-running accuracy on the validation windows
corpus.py       the corpus an evaluation reads (the run's own, found, or rebuilt from music21)
music.py        generated pieces' metrics beside the training and held-out pieces'
copy_check.py   how much of a piece is found in the training pieces
music_report.py the judgement as a text table and histograms
frames.py       test NLL per frame of a frames run (Bernoulli mixture)
frame_notes.py  exact test NLL per frame of a frame-notes run
musegan.py      MuseGAN's metrics of generated phrases

Nothing is imported here, so that `import cadenza.evaluation.corpus` loads no PyTorch.
"""
