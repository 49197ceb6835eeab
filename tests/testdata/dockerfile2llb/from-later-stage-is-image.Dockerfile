FROM a AS b
FROM b AS a
