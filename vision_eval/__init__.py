"""`make eval-vision`: every face detector × expression model on labelled real faces.

The set (manifest.csv, committed) lists each image's source package and version, its path
there, its label and how the label is known, its licence and subject. The CK+ frames are
taken out of the EmoPy wheel at setup into var/eval/ (`python -m vision_eval.fetch`) and are
never committed. Runs in the vision environment.
"""
