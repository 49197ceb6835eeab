# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
COPY testfile.txt c:\
RUN dir c:\ `
    && echo done
ENV DIR=C:\Program` Files\App
RUN echo literal backslash at end \
