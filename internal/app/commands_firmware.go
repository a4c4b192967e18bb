package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smgw/smgw/internal/update"
	"github.com/smgw/smgw/internal/wan/command"
)

// The HES firmware command (docs/updates.md, docs/commands.md):
// "firmware-update" {url, sha256, size} is answered at once with a job id;
// the job downloads the update file over HTTPS into <data_dir>/update/,
// bounded by size and [update] max_size, checking the SHA-256 as it
// streams, then installs it with App.InstallUpdate (signature,
// compatibility, anti-rollback, RAUC). Its outcome goes to the system
// event log (update-download, then update-verify … update-installed, or
// update-refused / update-failed) and to the status command's result
// ("firmware"). One job runs at a time. RAUC cannot cancel an
// installation in progress (its D-Bus API has no such method), so there
// is no firmware-cancel command.

// Firmware job states.
const (
	FirmwareDownloading = "downloading"
	FirmwareInstalling  = "installing"
	FirmwareInstalled   = "installed" // active after the next reboot
	FirmwareFailed      = "failed"
)

// firmwareTimeout bounds a firmware job (download and installation).
const firmwareTimeout = 2 * time.Hour

// firmwareFile is the download's name in the update state directory.
const firmwareFile = "download.smgwu"

// FirmwareJob is the state of a firmware job, in the status command's
// result and the firmware-update command's answer.
type FirmwareJob struct {
	ID       string `json:"job"`
	Command  string `json:"command"` // the command's id
	State    string `json:"state"`
	Version  string `json:"version,omitempty"` // the manifest's, once verified
	Error    string `json:"error,omitempty"`
	Bytes    int64  `json:"bytes"`              // downloaded so far
	Size     int64  `json:"size"`               // announced
	Started  int64  `json:"started"`            // Unix seconds
	Finished int64  `json:"finished,omitempty"` // Unix seconds
}

type firmwareArgs struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// firmwareState is the command path's firmware job.
type firmwareState struct {
	last   *FirmwareJob // the current or last job; nil before the first
	busy   bool
	cancel context.CancelFunc
	done   chan struct{} // closed when the running job ends
	n      int
}

// Firmware returns a copy of the current or last firmware job; ok is
// false when there was none since start.
func (c *CommandPath) Firmware() (FirmwareJob, bool) {
	c.fwMu.Lock()
	defer c.fwMu.Unlock()
	if c.fw.last == nil {
		return FirmwareJob{}, false
	}
	return *c.fw.last, true
}

// firmwareStatus is the status result's firmware field.
func (c *CommandPath) firmwareStatus() *FirmwareJob {
	if j, ok := c.Firmware(); ok {
		return &j
	}
	return nil
}

func (c *CommandPath) setJob(fn func(j *FirmwareJob)) {
	c.fwMu.Lock()
	fn(c.fw.last)
	c.fwMu.Unlock()
}

// stopFirmware cancels a running firmware job and waits for it (the
// command path's runner calls it when the gateway stops).
func (c *CommandPath) stopFirmware() {
	c.fwMu.Lock()
	cancel, done := c.fw.cancel, c.fw.done
	c.fwMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// firmwareUpdate checks the arguments and starts the job.
func (c *CommandPath) firmwareUpdate(ctx context.Context, cmd *command.Command) (any, string, error) {
	var a firmwareArgs
	if err := cmd.DecodeArgs(&a); err != nil {
		return nil, "", err
	}
	u, err := url.Parse(a.URL)
	switch {
	case a.URL == "":
		return nil, "", command.Reject(command.ReasonBadArgs, "url: required")
	case err != nil:
		return nil, "", command.Reject(command.ReasonBadArgs, "url: %v", err)
	case u.Scheme != "https":
		return nil, "", command.Reject(command.ReasonBadArgs, "url: %q: only https:// is accepted", u.Redacted())
	case u.Hostname() == "":
		return nil, "", command.Reject(command.ReasonBadArgs, "url: no host")
	}
	want, err := hex.DecodeString(a.SHA256)
	if err != nil || len(want) != sha256.Size {
		return nil, "", command.Reject(command.ReasonBadArgs, "sha256: want 64 hex digits")
	}
	maxSize := int64(c.a.cfg.Update.MaxSize)
	switch {
	case a.Size <= 0:
		return nil, "", command.Reject(command.ReasonBadArgs, "size: must be the update file's size in bytes, > 0")
	case a.Size > maxSize:
		return nil, "", command.Reject(command.ReasonBadArgs, "size: %d bytes is more than update.max_size (%s)", a.Size, c.a.cfg.Update.MaxSize)
	}
	c.fwMu.Lock()
	if c.fw.busy {
		id := c.fw.last.ID
		c.fwMu.Unlock()
		return nil, "", command.Reject(command.ReasonBusy, "firmware job %s is still running; one at a time", id)
	}
	c.fw.n++
	now := c.a.now()
	job := &FirmwareJob{ID: "fw-" + strconv.FormatInt(now.Unix(), 10) + "-" + strconv.Itoa(c.fw.n), Command: cmd.ID,
		State: FirmwareDownloading, Size: a.Size, Started: now.Unix()}
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), firmwareTimeout)
	done := make(chan struct{})
	c.fw.last, c.fw.busy, c.fw.cancel, c.fw.done = job, true, cancel, done
	out := *job
	c.fwMu.Unlock()
	go func() {
		defer close(done)
		defer cancel()
		c.runFirmware(jctx, job.ID, u, a.Size, want)
	}()
	return out, fmt.Sprintf("firmware job %s accepted: %s (%d bytes)", out.ID, redactURL(u), a.Size), nil
}

// redactURL is a URL for the log: no user information, query or fragment
// (they may carry access tokens).
func redactURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
	return v.String()
}

// runFirmware is the job: download, then install.
func (c *CommandPath) runFirmware(ctx context.Context, id string, u *url.URL, size int64, want []byte) {
	attrs := map[string]string{"job": id, "url": redactURL(u), "size": strconv.FormatInt(size, 10), "sha256": hex.EncodeToString(want)}
	c.a.logSystem(ctx, "update-download", fmt.Sprintf("firmware job %s: downloading %s", id, redactURL(u)), attrs)
	path, reason, err := c.download(ctx, id, u, size, want)
	if err != nil {
		attrs["reason"], attrs["err"] = reason, clipN(err.Error(), maxMsg)
		kind := update.EventFailed
		if reason == "corrupt" {
			kind = update.EventRefused
		}
		c.a.logSystem(ctx, kind, fmt.Sprintf("firmware job %s: %v", id, err), attrs)
		c.finish(err, "")
		return
	}
	defer os.Remove(path)
	c.setJob(func(j *FirmwareJob) { j.State = FirmwareInstalling })
	m, err := c.a.InstallUpdate(ctx, path) // logs its steps
	if err != nil {
		c.finish(err, "")
		return
	}
	c.log.Info("firmware job installed an update; it runs after the next reboot", "job", id, "version", m.Version)
	c.finish(nil, m.Version)
}

// finish records the job's outcome.
func (c *CommandPath) finish(err error, version string) {
	now := c.a.now().Unix()
	c.fwMu.Lock()
	defer c.fwMu.Unlock()
	j := c.fw.last
	j.Finished = now
	if err != nil {
		j.State, j.Error = FirmwareFailed, clipN(err.Error(), maxMsg)
		c.log.Warn("firmware job failed", "job", j.ID, "err", err)
	} else {
		j.State, j.Version = FirmwareInstalled, version
	}
	c.fw.busy, c.fw.cancel = false, nil
}

// errTooLarge: the server sent more than the announced size.
var errTooLarge = errors.New("larger than the announced size")

// download fetches the update file into the update state directory,
// checking its size and SHA-256. reason names a failure for the event
// log: "download" (network, TLS, HTTP) or "corrupt" (size or hash).
func (c *CommandPath) download(ctx context.Context, id string, u *url.URL, size int64, want []byte) (string, string, error) {
	tc, err := uplinkTLS(ctx, c.a.cfg, c.a.keys) // [wan.mqtt] ca_file and the client certificate
	if err != nil {
		return "", "download", err
	}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true, Proxy: http.ProxyFromEnvironment,
		TLSHandshakeTimeout: 30 * time.Second, ResponseHeaderTimeout: 2 * time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %s: only https:// is followed", redactURL(r.URL))
		}
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", "download", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("download %s: %w", redactURL(u), ue.Err) // the URL may carry a token
		}
		return "", "download", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "download", fmt.Errorf("download %s: HTTP %s", redactURL(u), resp.Status)
	}
	if resp.ContentLength > size {
		return "", "corrupt", fmt.Errorf("the server announces %d bytes, the command %d: %w", resp.ContentLength, size, errTooLarge)
	}
	dir := c.a.cfg.Gateway.UpdateStateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "download", err
	}
	f, err := os.CreateTemp(dir, firmwareFile+".*.part")
	if err != nil {
		return "", "download", err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	pw := &progressWriter{c: c}
	n, err := io.Copy(io.MultiWriter(f, h, pw), io.LimitReader(resp.Body, size+1))
	switch {
	case err != nil:
		return "", "download", fmt.Errorf("download %s after %d bytes: %w", redactURL(u), n, err)
	case n > size:
		return "", "corrupt", fmt.Errorf("the file is %w (%d bytes)", errTooLarge, size)
	case n < size:
		return "", "corrupt", fmt.Errorf("the file has %d bytes, the command announced %d", n, size)
	}
	if got := h.Sum(nil); !strings.EqualFold(hex.EncodeToString(got), hex.EncodeToString(want)) {
		return "", "corrupt", fmt.Errorf("SHA-256 mismatch: the file has %s, the command announced %s", hex.EncodeToString(got), hex.EncodeToString(want))
	}
	if err := f.Sync(); err != nil {
		return "", "download", err
	}
	if err := f.Close(); err != nil {
		return "", "download", err
	}
	path := filepath.Join(dir, firmwareFile)
	if err := os.Rename(tmp, path); err != nil {
		return "", "download", err
	}
	ok = true
	return path, "", nil
}

// progressWriter counts the bytes downloaded into the job.
type progressWriter struct{ c *CommandPath }

func (p *progressWriter) Write(b []byte) (int, error) {
	p.c.setJob(func(j *FirmwareJob) { j.Bytes += int64(len(b)) })
	return len(b), nil
}
