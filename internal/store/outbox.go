package store

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/smgw/smgw/internal/keys"
)

// The outbox keeps what is owed to the head-end system, per channel, in
// sequence order. Items get consecutive sequence numbers starting at 1; one
// entry holds the items of one commit (key: the first item's sequence
// number), so a busy channel costs one key per commit, not per item.
// Acknowledging through N deletes every entry whose items are all ≤ N and
// records N, so a partly acknowledged entry yields only its later items.

// Enqueue queues payloads on an outbox channel durably and returns the
// sequence number of the first.
func (s *Store) Enqueue(ctx context.Context, channel string, payloads ...[]byte) (uint64, error) {
	if err := validChannel(channel); err != nil {
		return 0, err
	}
	if len(payloads) == 0 {
		return 0, fmt.Errorf("store: enqueue on %s: nothing to queue", channel)
	}
	r, err := s.call(ctx, &request{kind: reqEnqueue, channel: channel, payloads: payloads})
	if err != nil {
		return 0, err
	}
	return r.seq, nil
}

// Ack acknowledges every item of channel through seq; they are deleted.
// Acknowledging less than already acknowledged is a no-op.
func (s *Store) Ack(ctx context.Context, channel string, through uint64) error {
	_, err := s.call(ctx, &request{kind: reqAck, channel: channel, through: through})
	return err
}

// OutboxState reports a channel's next sequence number and how far it is
// acknowledged; pending = next-1-acked.
func (s *Store) OutboxState(channel string) (next, acked uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if cs := s.w.outbox[channel]; cs != nil {
		return cs.next, cs.acked
	}
	return 1, 0
}

// Outbox returns up to max unacknowledged items of channel with sequence
// numbers greater than after, in order.
func (s *Store) Outbox(channel string, after uint64, max int) ([]OutboxItem, error) {
	if max <= 0 {
		max = 1000
	}
	s.mu.RLock()
	if cs := s.w.outbox[channel]; cs != nil && cs.acked > after {
		after = cs.acked
	}
	s.mu.RUnlock()
	var out []OutboxItem
	err := s.view(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox).Bucket([]byte(channel))
		if ob == nil {
			return nil
		}
		c := ob.Cursor()
		want := binary.BigEndian.AppendUint64(nil, after+1)
		k, v := c.Seek(want)
		if k == nil {
			k, v = c.Last()
		} else if binary.BigEndian.Uint64(k) > after+1 {
			if pk, pv := c.Prev(); pk != nil {
				k, v = pk, pv
			} else {
				k, v = c.Seek(want)
			}
		}
		for ; k != nil && len(out) < max; k, v = c.Next() {
			first := binary.BigEndian.Uint64(k)
			n, sealed, err := uvarint(v)
			if err != nil {
				return fmt.Errorf("%w: %s: outbox %s entry %d: %v", ErrCorrupt, s.path, channel, first, err)
			}
			if first+n-1 <= after {
				continue
			}
			plain, err := s.kr.Open(nil, sealed, outboxAAD(channel, k))
			if err != nil {
				return fmt.Errorf("%w: %s: outbox %s entry %d: %v", ErrCorrupt, s.path, channel, first, err)
			}
			err = decodeItems(plain, int(n), func(i int, item []byte) {
				seq := first + uint64(i)
				if seq > after && len(out) < max {
					out = append(out, OutboxItem{Seq: seq, Payload: item})
				}
			})
			if err != nil {
				return fmt.Errorf("%w: %s: outbox %s entry %d: %v", ErrCorrupt, s.path, channel, first, err)
			}
		}
		return nil
	})
	return out, err
}

// putOutbox writes items as entries of at most about chunkSize bytes each
// (see putChunked for why), the first numbered first.
func (s *Store) putOutbox(tx *bolt.Tx, ch string, first uint64, items [][]byte) error {
	ob, err := tx.Bucket(bucketOutbox).CreateBucketIfNotExists([]byte(ch))
	if err != nil {
		return err
	}
	ob.FillPercent = 1
	for len(items) > 0 {
		n, size := 0, 1+4+keys.Overhead
		for n < len(items) && (n == 0 || size+len(items[n])+binary.MaxVarintLen32 <= chunkSize) {
			size += len(items[n]) + binary.MaxVarintLen32
			n++
		}
		key := binary.BigEndian.AppendUint64(nil, first)
		v := binary.AppendUvarint(nil, uint64(n))
		s.w.buf = appendItems(s.w.buf[:0], items[:n])
		v = s.kr.Seal(v, s.w.buf, outboxAAD(ch, key))
		if err := ob.Put(key, v); err != nil {
			return err
		}
		first += uint64(n)
		items = items[n:]
	}
	return nil
}

func (s *Store) ackOutbox(tx *bolt.Tx, ch string, through uint64) error {
	ob := tx.Bucket(bucketOutbox).Bucket([]byte(ch))
	if ob != nil {
		c := ob.Cursor()
		var del [][]byte
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n, _, err := uvarint(v)
			if err != nil {
				return fmt.Errorf("%w: outbox %s entry %x", ErrCorrupt, ch, k)
			}
			if binary.BigEndian.Uint64(k)+n-1 > through {
				break
			}
			del = append(del, append([]byte(nil), k...))
		}
		for _, k := range del {
			if err := ob.Delete(k); err != nil {
				return err
			}
		}
	}
	return tx.Bucket(bucketMeta).Put([]byte(metaOutboxAcked+ch), binary.BigEndian.AppendUint64(nil, through))
}

// loadWriterState reads the outbox channels' and event logs' heads.
func (s *Store) loadWriterState(tx *bolt.Tx) error {
	s.w.outbox = map[string]*channelState{}
	s.w.logs = map[LogName]*logHead{}
	meta := tx.Bucket(bucketMeta)
	err := tx.Bucket(bucketOutbox).ForEachBucket(func(name []byte) error {
		cs := &channelState{next: 1}
		if v := meta.Get([]byte(metaOutboxAcked + string(name))); len(v) == 8 {
			cs.acked = binary.BigEndian.Uint64(v)
			cs.next = cs.acked + 1
		}
		if k, v := tx.Bucket(bucketOutbox).Bucket(name).Cursor().Last(); k != nil {
			n, _, err := uvarint(v)
			if err != nil || len(k) != 8 {
				return fmt.Errorf("%w: %s: outbox %s: last entry", ErrCorrupt, s.path, name)
			}
			cs.next = binary.BigEndian.Uint64(k) + n
		}
		s.w.outbox[string(name)] = cs
		return nil
	})
	if err != nil {
		return err
	}
	for _, ch := range s.opts.OutboxChannels {
		if s.w.outbox[ch] == nil {
			s.w.outbox[ch] = &channelState{next: 1}
		}
	}
	for _, name := range Logs {
		h := &logHead{}
		if v := meta.Get([]byte(metaLogHead + string(name))); len(v) == 40 {
			h.seq = binary.BigEndian.Uint64(v)
			copy(h.hash[:], v[8:])
		}
		s.w.logs[name] = h
	}
	return nil
}
