"""The prospect's form at /s/<token>: the questions, the answer, the entry it becomes."""
