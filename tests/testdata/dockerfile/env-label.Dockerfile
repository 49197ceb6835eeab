FROM scratch
ENV A=1
ENV B="two words" C='single quoted' D=back\ slash
ENV E="nested 'quotes'" F='nested "quotes"'
ENV G=a\"b H="a\"b" I='a\'b'
ENV K=
ENV L="" M=''
ENV legacy   spaced    value
LABEL "quoted key"=value multi.line="a \
    b"
LABEL version 1.0
ARG
ARG A B=
ARG C="with space"
