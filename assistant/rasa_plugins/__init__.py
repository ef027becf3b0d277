"""Code that Rasa imports (Python 3.10, Rasa's pinned dependencies): keep it small."""
