// Package desk serves the reference agent desk (/desk) and the supervisors'
// wall (/wall): static pages embedded in the binary that drive casehub
// through its public API and its live event stream (docs/events.md).
package desk

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed static
var files embed.FS

// Register serves the desk at /desk and the wall at /wall.
func Register(e *echo.Echo) {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	assets := echo.WrapHandler(http.StripPrefix("/desk/", http.FileServer(http.FS(static))))
	e.GET("/desk", redirect("/desk/"))
	e.GET("/desk/*", assets)
	e.GET("/wall", redirect("/desk/wall.html"))
}

// redirect sends the browser to path, keeping the query (the wall's
// ?queues=).
func redirect(path string) echo.HandlerFunc {
	return func(c echo.Context) error {
		to := path
		if q := c.QueryString(); q != "" {
			to += "?" + q
		}
		return c.Redirect(http.StatusFound, to)
	}
}
