package api

import (
	"fmt"
	"strconv"

	"github.com/labstack/echo/v5"
)

// queryUint reads an optional unsigned integer query parameter in
// [min, max]; absent → def.
func queryUint(c *echo.Context, name string, def, min, max uint64) (uint64, error) {
	vals, present := c.QueryParams()[name]
	if !present {
		return def, nil
	}
	if len(vals) != 1 {
		return 0, BadQuery(name, "single", "give the parameter once")
	}
	n, err := strconv.ParseUint(vals[0], 10, 64)
	if err != nil {
		return 0, BadQuery(name, "uint", fmt.Sprintf("%q is not a non-negative decimal integer", clip(vals[0])))
	}
	if n < min || n > max {
		return 0, BadQuery(name, "range", fmt.Sprintf("%d is outside %d..%d", n, min, max))
	}
	return n, nil
}

// requireUint reads a required unsigned integer query parameter.
func requireUint(c *echo.Context, name string, min, max uint64) (uint64, error) {
	if _, present := c.QueryParams()[name]; !present {
		return 0, BadQuery(name, "required", "the parameter is required")
	}
	return queryUint(c, name, 0, min, max)
}

// clip shortens user input before it is quoted back.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
