"""Japanese topic and risk triage (SudachiPy + scikit-learn): arrives with the triage issue."""
