package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// The page: one HTML file, its script, stylesheet and icon, embedded in
// the binary; no framework, no external assets, works offline.
//
//go:embed assets
var assets embed.FS

type asset struct {
	typ  string
	raw  []byte
	gz   []byte
	etag string
}

var assetTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// files are the embedded assets by name, each also gzipped once.
var files = func() map[string]*asset {
	m := map[string]*asset{}
	entries, _ := fs.ReadDir(assets, "assets")
	for _, e := range entries {
		b, err := assets.ReadFile("assets/" + e.Name())
		if err != nil {
			continue
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		m[e.Name()] = &asset{typ: assetTypes[path.Ext(e.Name())], raw: b, gz: gz.Bytes(), etag: etag(b)}
	}
	return m
}()

// PageWeight returns the page's total size, raw and gzipped: the HTML,
// script, stylesheet and icon a browser loads.
func PageWeight() (raw, gz int) {
	for _, a := range files {
		raw += len(a.raw)
		gz += len(a.gz)
	}
	return raw, gz
}

func (s *Service) page(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, files["index.html"])
}

func (s *Service) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	a := files[name]
	if a == nil || name == "index.html" {
		notFound(w)
		return
	}
	serveAsset(w, r, a)
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.typ)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	hd.Set("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.raw
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	w.Write(body)
}
