# Builds the wordgame server for docker-compose.yml (context: the wordgame/ module).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/wordgame ./cmd/wordgame

# the dictionary comes from Debian's word list, as `make setup` does it (never committed)
FROM debian:bookworm-slim AS words
RUN apt-get update && apt-get install -y --no-install-recommends wamerican \
    && cp /usr/share/dict/american-english /words.txt

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wordgame /usr/local/bin/wordgame
COPY --from=words /words.txt /usr/share/wordgame/words.txt
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/wordgame"]
