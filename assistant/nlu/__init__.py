"""The language models: language detection, the sentence encoder, the calibrated intent and FAQ classifier and
its training, sentiment, spam and abuse, risky topics, and the Rasa NLU training data they learn from."""
