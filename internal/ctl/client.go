package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/store"
)

// Client reads from a running daemon over its control socket. It is safe
// for concurrent use.
type Client struct {
	path string
	tr   *http.Transport
	hc   *http.Client
}

// dialTimeout bounds Dial's check when ctx has no deadline.
const dialTimeout = 5 * time.Second

// Limits on what the client reads.
const (
	maxJSONBody = 64 << 20 // a status or meter list
	maxLine     = 1 << 20  // one NDJSON line
)

// Dial connects to the daemon on the socket at path and checks that it
// answers. It fails fast with ErrNoDaemon when the socket file is missing
// or nothing listens on it, with ErrRefused when the daemon does not serve
// this user, and with an error wrapping fs.ErrPermission when the socket
// file may not be opened.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("%w (%s: %w)", ErrNoDaemon, path, err)
		}
		return nil, fmt.Errorf("ctl: connect to %s: %w", path, err)
	}
	if err := ping(ctx, c); err != nil {
		return nil, fmt.Errorf("ctl: %s: %w", path, err)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{path: path, tr: tr, hc: &http.Client{Transport: tr}}, nil
}

// ping asks /v1/ping on c and closes it. A daemon that refuses the peer
// closes the connection without a byte: that is ErrRefused.
func ping(ctx context.Context, c net.Conn) error {
	defer c.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(dialTimeout)
	}
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err := io.WriteString(c, "GET /v1/ping HTTP/1.1\r\nHost: smgw\r\nConnection: close\r\n\r\n")
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("%w (is this user root, the daemon's or in its group?): %w", ErrRefused, err)
	default:
		return fmt.Errorf("ping: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readError(resp)
	}
	return nil
}

// Close releases the client's idle connections. It is idempotent.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// Path is the socket's path.
func (c *Client) Path() string { return c.path }

func (c *Client) get(ctx context.Context, path string, v url.Values) (*http.Response, error) {
	u := "http://smgw" + path
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("ctl: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ctl: %s: %w", path, ctx.Err())
		}
		return nil, fmt.Errorf("ctl: %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// readError turns an error answer into a *RemoteError.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var we wireError
	if err := json.Unmarshal(b, &we); err != nil || we.Error == "" {
		return fmt.Errorf("%w: HTTP %s", ErrProtocol, resp.Status)
	}
	return &RemoteError{Status: resp.StatusCode, Code: we.Code, Message: we.Error}
}

func (c *Client) getJSON(ctx context.Context, path string, v url.Values, dst any) error {
	resp, err := c.get(ctx, path, v)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if err != nil {
		return fmt.Errorf("ctl: %s: read answer: %w", path, err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrProtocol, path, err)
	}
	return nil
}

// stream calls fn with each line of an NDJSON answer and checks its
// trailers. An error from fn is returned as is.
func (c *Client) stream(ctx context.Context, path string, v url.Values, fn func([]byte) error) error {
	resp, err := c.get(ctx, path, v)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(line) > maxLine {
				return fmt.Errorf("%w: %s: line longer than %d bytes", ErrProtocol, path, maxLine)
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if len(line) > 0 && err == nil {
			if ferr := fn(line); ferr != nil {
				return ferr
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				return fmt.Errorf("%w: %s: answer ends within a line", ErrProtocol, path)
			}
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ctl: %s: %w", path, ctx.Err())
		}
		return fmt.Errorf("%w: %s: %w", ErrProtocol, path, err)
	}
	if msg := resp.Trailer.Get(trailerError); msg != "" {
		return &RemoteError{Status: resp.StatusCode, Code: resp.Trailer.Get(trailerCode), Message: msg}
	}
	return nil
}

// Query implements Reader.
func (c *Client) Query(ctx context.Context, q store.Query, fn func(meter.Reading) error) error {
	return c.stream(ctx, "/v1/readings", QueryValues(q), func(line []byte) error {
		r, err := DecodeReadingJSON(line)
		if err != nil {
			return fmt.Errorf("ctl: readings: %w", err)
		}
		return fn(r)
	})
}

// Meters implements Reader.
func (c *Client) Meters(ctx context.Context) ([]store.MeterInfo, error) {
	var raw json.RawMessage
	if err := c.getJSON(ctx, "/v1/meters", nil, &raw); err != nil {
		return nil, err
	}
	return UnmarshalMeters(raw)
}

// Events implements Reader.
func (c *Client) Events(ctx context.Context, name store.LogName, after uint64, fn func(store.Event) error) error {
	v := url.Values{}
	if after > 0 {
		v.Set("after", fmt.Sprint(after))
	}
	return c.stream(ctx, "/v1/log/"+url.PathEscape(string(name)), v, func(line []byte) error {
		ev, err := DecodeEventJSON(line)
		if err != nil {
			return fmt.Errorf("ctl: events: %w", err)
		}
		return fn(ev)
	})
}

// VerifyLog implements Reader. When the chain is broken the report holds
// what the daemon checked before the break, and errors.Is(err,
// store.ErrChainBroken) holds.
func (c *Client) VerifyLog(ctx context.Context, name store.LogName) (store.LogReport, error) {
	path := "/v1/log/" + url.PathEscape(string(name)) + "/verify"
	u := "http://smgw" + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return store.LogReport{}, fmt.Errorf("ctl: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return store.LogReport{}, fmt.Errorf("ctl: %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return store.LogReport{}, fmt.Errorf("ctl: %s: read answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var we wireError
		if err := json.Unmarshal(b, &we); err != nil || we.Error == "" {
			return store.LogReport{}, fmt.Errorf("%w: %s: HTTP %s", ErrProtocol, path, resp.Status)
		}
		var rep store.LogReport
		if we.Report != nil {
			rep, _ = we.Report.report()
		}
		return rep, &RemoteError{Status: resp.StatusCode, Code: we.Code, Message: we.Error}
	}
	var w wireLogReport
	if err := json.Unmarshal(b, &w); err != nil {
		return store.LogReport{}, fmt.Errorf("%w: %s: %w", ErrProtocol, path, err)
	}
	return w.report()
}

// Status implements Backend.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.getJSON(ctx, "/v1/status", nil, &st)
	return st, err
}
