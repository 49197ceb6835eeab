FROM scratch
CMD []
CMD [ "spaced" , "out" ]
CMD ["unterminated"
CMD ['single', 'quotes']
CMD ["trailing"] extra
CMD ["escapes \" \\ \/ \n \t", "\u00e9\u4e2d", "\ud83d\ude00", "\ud800"]
ENTRYPOINT ["nested [\"json\"] string"]
RUN [ "a",
RUN {"not": "an array"}
COPY ["src file", "dest dir/"]
COPY [] /x
VOLUME [/not/json]
SHELL ["pwsh", "-command"]
