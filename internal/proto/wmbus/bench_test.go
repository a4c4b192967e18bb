package wmbus_test

import (
	"testing"

	"github.com/smgw/smgw/internal/proto/wmbus"
)

// benchSet returns the corpus telegrams of one kind that decode cleanly.
func benchSet(b *testing.B, kind string) (frames, keys [][]byte) {
	rows := loadCorpus(b)
	d := corpusDecoder(b)
	var tg wmbus.Telegram
	for _, r := range rows {
		key := r.key(b)
		frame, err := r.frameErr()
		if err != nil || d.Decode(frame, key, &tg) != nil {
			continue
		}
		var ok bool
		switch kind {
		case "plain":
			ok = !tg.Security.Decrypted
		case "mode5":
			ok = tg.Security.Decrypted && tg.Security.Mode == wmbus.Mode5 && !tg.Security.ELL
		case "mode7":
			ok = tg.Security.Decrypted && tg.Security.Mode == wmbus.Mode7
		case "ell":
			ok = tg.Security.Decrypted && tg.Security.ELL
		}
		if ok {
			frames = append(frames, frame)
			keys = append(keys, key)
		}
	}
	if len(frames) == 0 {
		b.Fatalf("no %s telegrams", kind)
	}
	return frames, keys
}

// BenchmarkDecode decodes the corpus's telegrams of each kind, one
// telegram per op (decrypt, CRC and MAC checks, records, OBIS mapping),
// with one reused Decoder and Telegram as a receiver loop would.
func BenchmarkDecode(b *testing.B) {
	for _, kind := range []string{"plain", "mode5", "mode7", "ell"} {
		b.Run(kind, func(b *testing.B) {
			frames, keys := benchSet(b, kind)
			d := corpusDecoder(b)
			var tg wmbus.Telegram
			var bytes int64
			for _, f := range frames {
				bytes += int64(len(f))
			}
			b.SetBytes(bytes / int64(len(frames)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				k := i % len(frames)
				if err := d.Decode(frames[k], keys[k], &tg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "telegrams/s")
		})
	}
}

// BenchmarkHeader is the key-less header parse a receiver filters with.
func BenchmarkHeader(b *testing.B) {
	frames, _ := benchSet(b, "plain")
	d := wmbus.NewDecoder(nil)
	var h wmbus.Header
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := d.Header(frames[i%len(frames)], &h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "telegrams/s")
}

// BenchmarkAppendJSON encodes decoded telegrams as the decode JSON.
func BenchmarkAppendJSON(b *testing.B) {
	frames, keys := benchSet(b, "plain")
	d := corpusDecoder(b)
	var tg wmbus.Telegram
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := i % len(frames)
		err := d.Decode(frames[k], keys[k], &tg)
		buf = wmbus.AppendJSON(buf[:0], &tg, err)
	}
}
