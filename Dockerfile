# casehub: one binary (api | worker | migrate | cti-sim ...). Built for docker-compose.yml.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/casehub ./cmd/casehub

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/casehub /usr/local/bin/casehub
ENTRYPOINT ["/usr/local/bin/casehub"]
