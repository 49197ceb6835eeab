FROM scratch AS context
FROM scratch AS scratch
FROM scratch AS a
FROM scratch AS a
