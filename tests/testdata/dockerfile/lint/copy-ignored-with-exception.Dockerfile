# opt: ignore=*
# opt: ignore=!keep.txt
FROM scratch
COPY app.log /
