# casehub: one binary (api | worker | migrate | cti-sim ...), one image for every casehub service of
# docker-compose.yml and deploy/kubernetes. .dockerignore keeps the context to the Go sources.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/casehub ./cmd/casehub

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/casehub /usr/local/bin/casehub
# distroless's nonroot user, by number so that Kubernetes can check runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/casehub"]
