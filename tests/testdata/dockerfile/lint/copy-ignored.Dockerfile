# opt: ignore=*.log
# opt: ignore=secret/
# opt: all-stages=true
FROM scratch AS a
COPY app.log /
COPY secret/key.pem /
COPY keep.txt ./secret.txt
ADD debug.log /
FROM scratch
COPY --from=a app.log /
COPY . /
