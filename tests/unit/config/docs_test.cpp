// docs/config.md lists every key of both schemas, and nothing else: the test reads its two
// tables and compares them with the schema row by row, in both directions.
