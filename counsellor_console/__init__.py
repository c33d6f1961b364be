"""The counsellors' web console: arrives with the console issue."""
