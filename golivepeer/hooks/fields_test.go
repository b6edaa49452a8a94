package hooks

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	ethcommon "github.com/ethereum/go-ethereum/common"
	"github.com/livepeer/go-livepeer/core"
	"github.com/livepeer/go-livepeer/net"
	"github.com/livepeer/go-livepeer/server"
	"github.com/livepeer/go-tools/drivers"
	"github.com/livepeer/lpms/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/plugin"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// These tests prove that the wrapper's TranscodeSeg drops nothing of
// go-livepeer's values: every field reaches go-livepeer (and comes back to
// go-livepeer's caller) as it came, Caps less the Archive bit, and the
// archiver's view holds the fields it mirrors. The tables below name every
// field of go-livepeer's types; a field added or removed upstream fails
// TestFieldTables until someone decides what the wrapper does with it.

// archiveBit is the Archive capability the test's archiver offers
// (plugin.Flags.CapabilityID in newOrch).
const archiveBit core.Capability = 63

// toInner is what go-livepeer's TranscodeSeg gets of a field, or, for
// TranscodeResult, what the wrapper's caller gets back.
type toInner int

const (
	unchanged    toInner = iota // the value as it came
	archiveStrip                // a copy without the Archive bit (Caps only)
)

// fieldUse is how the wrapper treats one field of go-livepeer's types.
type fieldUse struct {
	inner toInner
	// mirror is the field of the archiver's type that carries the field;
	// "" when the archiver does not see it.
	mirror string
	// as turns the field into its mirrored form; nil: a plain conversion.
	as func(reflect.Value) any
	// elems is the table of the elements of a mirrored slice of structs.
	elems fieldTable
	// note says more, for failure messages.
	note string
}

func (u fieldUse) String() string {
	s := "passed on unchanged"
	if u.inner == archiveStrip {
		s = "passed on without the Archive bit"
	}
	if u.mirror != "" {
		s += " and mirrored as " + u.mirror
	} else {
		s += " only"
	}
	if u.note != "" {
		s += " (" + u.note + ")"
	}
	return s
}

// fieldTable maps a type's field names to how the wrapper treats them.
type fieldTable map[string]fieldUse

var (
	// mdFields is core.SegTranscodingMetadata.
	mdFields = fieldTable{
		"ManifestID":         {mirror: "ManifestID", note: "the stream archived"},
		"Fname":              {note: "go-livepeer's own input file"},
		"Seq":                {mirror: "Seq"},
		"Hash":               {mirror: "Hash"},
		"Profiles":           {mirror: "Profiles", as: profileNames, note: "the renditions' names"},
		"OS":                 {note: "the broadcaster's storage"},
		"Duration":           {mirror: "Duration", note: "the archived playlists' EXTINF"},
		"Caps":               {inner: archiveStrip, mirror: "Caps", as: netCaps, note: "go-livepeer's transcoders refuse the Archive bit"},
		"AuthToken":          {mirror: "AuthToken", note: "its session id keys the balance"},
		"CalcPerceptualHash": {},
		"SegmentParameters":  {},
		"Metadata":           {},
	}
	// segFields is lpms's stream.HLSSegment.
	segFields = fieldTable{
		"SeqNo":       {mirror: "SeqNo"},
		"Name":        {mirror: "Name"},
		"Data":        {mirror: "Data", note: "the archived source"},
		"Duration":    {mirror: "Duration"},
		"IsZeroFrame": {},
	}
	// resultFields is core.TranscodeResult, returned to go-livepeer's
	// caller; the archiver sees only the renditions, through transcodeData.
	resultFields = fieldTable{
		"Err":           {note: "set: the archiver gets no renditions"},
		"Sig":           {note: "go-livepeer's signature"},
		"TranscodeData": {note: "mirrored by transcodeData as the renditions"},
		"OS":            {note: "the session's storage"},
	}
	// tdFields is core.TranscodeData.
	tdFields = fieldTable{
		"Segments": {mirror: "Segments", elems: segDataFields},
		"Pixels":   {mirror: "Pixels"},
	}
	// segDataFields is core.TranscodedSegmentData.
	segDataFields = fieldTable{
		"Data":   {mirror: "Data"},
		"PHash":  {mirror: "PHash"},
		"Pixels": {mirror: "Pixels"},
	}
)

// tables ties each of go-livepeer's types to its table and to the
// archiver's mirror of it (nil: the archiver has none the wrapper fills).
var tables = []struct {
	typ    reflect.Type
	fields fieldTable
	mirror reflect.Type
}{
	{reflect.TypeFor[core.SegTranscodingMetadata](), mdFields, reflect.TypeFor[orchestrator.SegTranscodingMetadata]()},
	{reflect.TypeFor[stream.HLSSegment](), segFields, reflect.TypeFor[orchestrator.HLSSegment]()},
	{reflect.TypeFor[core.TranscodeResult](), resultFields, nil},
	{reflect.TypeFor[core.TranscodeData](), tdFields, reflect.TypeFor[orchestrator.TranscodeData]()},
	{reflect.TypeFor[core.TranscodedSegmentData](), segDataFields, reflect.TypeFor[orchestrator.TranscodedSegmentData]()},
}

// profileNames is Profiles as the archiver sees it: the names only.
func profileNames(v reflect.Value) any {
	var names []string
	for i := range v.Len() {
		names = append(names, v.Index(i).FieldByName("Name").String())
	}
	return names
}

// netCaps is Caps in wire form, as the archiver sees it.
func netCaps(v reflect.Value) any { return v.Interface().(*core.Capabilities).ToNetCapabilities() }

// TestFieldTables fails when go-livepeer's types gain a field the tables do
// not name (decide what the wrapper does with it, then add it), lose one
// they name, or when the archiver's mirror gains a field nothing fills.
func TestFieldTables(t *testing.T) {
	for _, tb := range tables {
		t.Run(tb.typ.Name(), func(t *testing.T) {
			have := map[string]bool{}
			for i := range tb.typ.NumField() {
				name := tb.typ.Field(i).Name
				have[name] = true
				if _, ok := tb.fields[name]; !ok {
					t.Errorf("%s.%s is new: decide how the wrapper treats it and add it to the table", tb.typ, name)
				}
			}
			for name := range tb.fields {
				assert.True(t, have[name], "%s.%s is in the table but %s has no such field", tb.typ, name, tb.typ)
			}
			if tb.mirror == nil {
				return
			}
			filled := map[string]int{}
			for name, use := range tb.fields {
				if use.mirror == "" {
					continue
				}
				filled[use.mirror]++
				_, ok := tb.mirror.FieldByName(use.mirror)
				assert.True(t, ok, "%s.%s is mirrored as %s.%s, which does not exist", tb.typ, name, tb.mirror, use.mirror)
			}
			for i := range tb.mirror.NumField() {
				name := tb.mirror.Field(i).Name
				assert.Equal(t, 1, filled[name], "%s.%s: want exactly one field of %s mirrored as it", tb.mirror, name, tb.typ)
			}
		})
	}
}

// TestTranscodeSegDropsNothing sends fully filled values through the
// wrapper to a fake go-livepeer and compares what each side got with an
// identical copy.
func TestTranscodeSegDropsNothing(t *testing.T) {
	errTranscode := errors.New("transcoder gone")
	for _, tc := range []struct {
		name     string
		archive  bool  // the segment asks for archiving
		resErr   bool  // the result carries a transcode error (Err)
		err      error // go-livepeer's TranscodeSeg fails outright
		archived bool  // the archiver gets the segment
	}{
		{name: "archived", archive: true, archived: true},
		{name: "result has Err", archive: true, resErr: true},
		{name: "TranscodeSeg fails", archive: true, err: errTranscode},
		{name: "archiving not requested", archive: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// in goes through the wrapper; want is its twin, untouched.
			in, want := newFixture(t, tc.archive), newFixture(t, tc.archive)
			if !tc.resErr {
				in.res.Err, want.res.Err = nil, nil
			}
			lp := &fakeOrch{res: in.res, err: tc.err}
			if tc.err != nil {
				lp.res = nil
			}
			o := newOrch(t, lp)

			res, err := o.TranscodeSeg(t.Context(), in.md, in.seg)

			// The segment is timed, under whether it asked for archiving.
			label := map[bool]string{true: "true", false: "false"}
			assert.Equal(t, uint64(1), observed(t, o.m.transcode, label[tc.archive]))
			assert.Zero(t, observed(t, o.m.transcode, label[!tc.archive]))
			assert.Equal(t, uint64(1), observed(t, o.m.inArchiver, "TranscodeSeg"))

			// go-livepeer's answer comes back as go-livepeer made it.
			if tc.err != nil {
				assert.Same(t, tc.err, err)
				assert.Nil(t, res)
			} else {
				require.NoError(t, err)
				require.Same(t, in.res, res)
				assert.Same(t, in.res.OS, res.OS)
				equalFields(t, resultFields, reflect.ValueOf(want.res).Elem(), reflect.ValueOf(res).Elem())
				assert.Equal(t, want.res, res)
			}

			// go-livepeer got every field of md as it came, but Caps.
			require.Equal(t, 1, lp.calls)
			got := lp.md
			if tc.archive {
				assert.NotSame(t, in.md, got, "the caller's md is not changed; go-livepeer gets a copy")
			} else {
				assert.Same(t, in.md, got, "a segment that asks for no archiving passes as it came")
			}
			equalFields(t, mdFields, reflect.ValueOf(want.md).Elem(), reflect.ValueOf(got).Elem())
			// Caps lost the Archive bit (bitstring, capacity) and nothing
			// else: twin caps built without it are equal.
			wantCaps := newCaps(false).ToNetCapabilities()
			gotCaps := got.Caps.ToNetCapabilities()
			assert.True(t, proto.Equal(wantCaps, gotCaps), "go-livepeer's caps:\nwant %v\ngot  %v", wantCaps, gotCaps)
			// The caller's md keeps its Caps, Archive bit and all.
			assert.Equal(t, want.md, in.md)

			// The segment is go-livepeer's own, untouched.
			assert.Same(t, in.seg, lp.seg)
			equalFields(t, segFields, reflect.ValueOf(want.seg).Elem(), reflect.ValueOf(lp.seg).Elem())

			// The archiver saw the segment iff it asked and was
			// transcoded: its receipt rides on a later reply of the
			// session, once the archiver decided it.
			var receipts []*archiverpb.ArchiveReceipt
			take := func() bool {
				tr := &net.TranscodeResult{}
				o.a.AmendReply(tr, want.md.AuthToken.GetSessionId())
				r, _, err := archiverpb.GetReceipts(tr)
				require.NoError(t, err)
				receipts = append(receipts, r.GetReceipts()...)
				return len(receipts) > 0
			}
			if !tc.archived {
				// Nothing was handed over: a failed transcode and a
				// segment that did not ask are settled in the reply.
				assert.False(t, take(), "receipts for a segment not archived: %v", receipts)
				return
			}
			require.Eventually(t, take, 5*time.Second, time.Millisecond)
			// Its receipt, and its outcome too if that came already.
			require.LessOrEqual(t, len(receipts), 2, "%v", receipts)
			if len(receipts) == 2 {
				assert.Equal(t, archiverpb.ArchiveReceipt_PENDING, receipts[0].GetStatus())
				assert.Equal(t, receipts[0].GetSeq(), receipts[1].GetSeq())
			}
			r := receipts[0]
			assert.Contains(t, []archiverpb.ArchiveReceipt_Status{archiverpb.ArchiveReceipt_PENDING, archiverpb.ArchiveReceipt_ACCEPTED}, r.GetStatus(), "%v %s", r.GetReason(), r.GetDetail())
			assert.Equal(t, []byte(want.md.ManifestID), r.GetManifestId())
			assert.Equal(t, want.md.Seq, r.GetSeq())
			assert.EqualValues(t, len(want.seg.Data), r.GetSourceBytes())
			require.Len(t, r.GetRenditions(), len(want.res.TranscodeData.Segments))
			for i, rd := range r.GetRenditions() {
				assert.Equal(t, want.md.Profiles[i].Name, rd.GetName())
				assert.EqualValues(t, len(want.res.TranscodeData.Segments[i].Data), rd.GetBytes())
			}
		})
	}
}

// observed is how many observations h holds under label.
func observed(t *testing.T, h *prometheus.HistogramVec, label string) uint64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, h.WithLabelValues(label).(prometheus.Histogram).Write(&m))
	return m.GetHistogram().GetSampleCount()
}

// TestConvertersMirror checks the archiver's view field by field against
// the tables: every mirrored field holds the original's value.
func TestConvertersMirror(t *testing.T) {
	fx := newFixture(t, true)
	checkMirror(t, "SegTranscodingMetadata", mdFields, reflect.ValueOf(fx.md).Elem(), reflect.ValueOf(segMetadata(fx.md)).Elem())
	checkMirror(t, "HLSSegment", segFields, reflect.ValueOf(fx.seg).Elem(), reflect.ValueOf(hlsSegment(fx.seg)).Elem())
	checkMirror(t, "TranscodeData", tdFields, reflect.ValueOf(fx.res.TranscodeData).Elem(), reflect.ValueOf(transcodeData(fx.res.TranscodeData)).Elem())
	assert.Nil(t, transcodeData(nil))
}

// TestCapabilitiesAdvertiseArchive: the wrapper offers the Archive bit on
// top of go-livepeer's capabilities and changes nothing else.
func TestCapabilitiesAdvertiseArchive(t *testing.T) {
	o := newOrch(t, &fakeOrch{})
	want := newCaps(false).ToNetCapabilities()
	want.Bitstring[archiveBit/64] |= 1 << (archiveBit % 64)
	got := o.Capabilities()
	assert.True(t, proto.Equal(want, got), "want %v\ngot  %v", want, got)
}

// equalFields compares every field of got with want's, walking the type so
// that a field added upstream is compared too. Caps, which go-livepeer gets
// stripped, is the caller's to check.
func equalFields(t *testing.T, table fieldTable, want, got reflect.Value) {
	t.Helper()
	for i := range want.NumField() {
		f := want.Type().Field(i)
		use, ok := table[f.Name]
		if ok && use.inner == archiveStrip {
			continue
		}
		if !f.IsExported() {
			t.Errorf("%s.%s is unexported: the test cannot compare it", want.Type(), f.Name)
			continue
		}
		assert.Equal(t, want.Field(i).Interface(), got.Field(i).Interface(), "%s.%s, %v", want.Type(), f.Name, use)
	}
}

// checkMirror compares each mirrored field of orig with its mirror.
func checkMirror(t *testing.T, typ string, table fieldTable, orig, mirror reflect.Value) {
	t.Helper()
	for name, use := range table {
		if use.mirror == "" {
			continue
		}
		ov, mv := orig.FieldByName(name), mirror.FieldByName(use.mirror)
		require.True(t, ov.IsValid() && mv.IsValid(), "%s.%s mirrored as %s", typ, name, use.mirror)
		if use.elems != nil {
			require.Equal(t, ov.Len(), mv.Len(), "%s.%s", typ, name)
			for i := range ov.Len() {
				checkMirror(t, fmt.Sprintf("%s.%s[%d]", typ, name, i), use.elems, reflect.Indirect(ov.Index(i)), reflect.Indirect(mv.Index(i)))
			}
			continue
		}
		var want any
		if use.as != nil {
			want = use.as(ov)
		} else {
			want = ov.Convert(mv.Type()).Interface()
		}
		got := mv.Interface()
		if wm, ok := want.(proto.Message); ok {
			assert.True(t, proto.Equal(wm, got.(proto.Message)), "%s.%s mirrored as %s:\nwant %v\ngot  %v", typ, name, use.mirror, want, got)
			continue
		}
		assert.Equal(t, want, got, "%s.%s mirrored as %s", typ, name, use.mirror)
	}
}

// fixture is one segment's values as go-livepeer hands them over.
type fixture struct {
	md  *core.SegTranscodingMetadata
	seg *stream.HLSSegment
	res *core.TranscodeResult
}

// newFixture fills every field with distinct non-zero values. It is
// deterministic: two calls give equal values, one to send through the
// wrapper and one to compare with. archive asks for archiving.
func newFixture(t *testing.T, archive bool) fixture {
	t.Helper()
	f := &filler{t: t, custom: map[reflect.Type]func(n int) any{
		// Unexported fields: built by core, as go-livepeer does.
		reflect.TypeFor[*core.Capabilities](): func(int) any { return newCaps(archive) },
		// Interfaces: no value to derive.
		reflect.TypeFor[drivers.OSSession](): func(n int) any { return &osSession{name: fmt.Sprintf("OS-%d", n)} },
		reflect.TypeFor[error]():             func(n int) any { return fmt.Errorf("Err-%d", n) },
	}}
	var fx fixture
	f.fill(reflect.ValueOf(&fx.md).Elem(), "md", "md")
	f.fill(reflect.ValueOf(&fx.seg).Elem(), "seg", "seg")
	f.fill(reflect.ValueOf(&fx.res).Elem(), "res", "res")
	// The filler skips unexported fields (protobuf's internals); go-livepeer's
	// own types must have none left zero.
	requireFilled(t, reflect.ValueOf(fx.md).Elem())
	requireFilled(t, reflect.ValueOf(fx.seg).Elem())
	requireFilled(t, reflect.ValueOf(fx.res).Elem())
	requireFilled(t, reflect.ValueOf(fx.res.TranscodeData).Elem())
	for _, s := range fx.res.TranscodeData.Segments {
		requireFilled(t, reflect.ValueOf(s).Elem())
	}
	require.Len(t, fx.md.Profiles, len(fx.res.TranscodeData.Segments), "a rendition per profile")
	return fx
}

func requireFilled(t *testing.T, v reflect.Value) {
	t.Helper()
	for i := range v.NumField() {
		require.False(t, v.Field(i).IsZero(), "%s.%s is zero: the filler needs a value for it", v.Type(), v.Type().Field(i).Name)
	}
}

// newCaps are a segment's capabilities with every part set: bits,
// mandatories, a capacity above 1, version and constraint. archive adds the
// Archive bit, as a broadcaster asking for archiving does.
func newCaps(archive bool) *core.Capabilities {
	bits := []core.Capability{core.Capability_H264, core.Capability_MPEGTS, core.Capability_MP4, core.Capability_AuthToken, core.Capability_SegmentSlicing}
	if archive {
		bits = append(bits, archiveBit)
	}
	c := core.NewCapabilities(bits, []core.Capability{core.Capability_AuthToken})
	c.AddCapacity(core.NewCapabilities([]core.Capability{core.Capability_H264}, nil))
	c.SetMinVersionConstraint("0.7.9")
	return c
}

// filler sets every exported field it reaches to a distinct non-zero
// value; custom values go to the types it cannot build itself.
type filler struct {
	t      *testing.T
	n      int
	custom map[reflect.Type]func(n int) any
}

// fill fills v; path names it in failures, and name (the field's name)
// starts its strings, which stay plain [A-Za-z0-9_-] names the archiver
// accepts as manifest ids and rendition names.
func (f *filler) fill(v reflect.Value, path, name string) {
	f.n++
	n := f.n
	if mk, ok := f.custom[v.Type()]; ok {
		v.Set(reflect.ValueOf(mk(n)))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := int64(n)
		if v.OverflowInt(x) {
			x = int64(n%100 + 1)
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		x := uint64(n)
		if v.OverflowUint(x) {
			x = uint64(n%200 + 1)
		}
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", name, n))
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range s.Len() {
			f.fill(s.Index(i), fmt.Sprintf("%s[%d]", path, i), name)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i), name)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			f.fill(k, fmt.Sprintf("%s.key%d", path, i), name)
			f.fill(e, fmt.Sprintf("%s[key%d]", path, i), name)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), path, name)
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			f.fill(v.Field(i), path+"."+sf.Name, sf.Name)
		}
	default:
		f.t.Fatalf("%s: the filler has no value for a %s; add one to newFixture's custom values", path, v.Type())
	}
}

// osSession stands in for the broadcaster's storage session; nothing may
// call it (the embedded nil interface panics).
type osSession struct {
	drivers.OSSession
	name string
}

// fakeOrch is go-livepeer's orchestrator: TranscodeSeg records what it got
// and returns the prepared answer. Methods the test does not expect are the
// embedded nil interface's, and panic.
type fakeOrch struct {
	server.Orchestrator
	res *core.TranscodeResult
	err error

	mu    sync.Mutex
	md    *core.SegTranscodingMetadata
	seg   *stream.HLSSegment
	calls int
}

func (f *fakeOrch) TranscodeSeg(_ context.Context, md *core.SegTranscodingMetadata, seg *stream.HLSSegment) (*core.TranscodeResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.md, f.seg = md, seg
	f.calls++
	return f.res, f.err
}

func (f *fakeOrch) Capabilities() *net.Capabilities { return newCaps(false).ToNetCapabilities() }

// The archive fee's ledger: archiving is free here, so these only need to
// exist (DebitFees may come late, from the archiver's outcome).
func (f *fakeOrch) SufficientBalance(ethcommon.Address, core.ManifestID) bool { return true }
func (f *fakeOrch) DebitFees(ethcommon.Address, core.ManifestID, *net.PriceInfo, int64) {
}

// newOrch wraps lp as starter.OrchestratorHook does, with a real archiver
// offchain and free, in a temporary data directory.
func newOrch(t testing.TB, lp server.Orchestrator) *orch {
	t.Helper()
	// The flags as an operator sets them, every other one at its default.
	f := &plugin.Flags{}
	fs := flag.NewFlagSet("livepeer", flag.ContinueOnError)
	f.Register(fs)
	require.NoError(t, fs.Parse([]string{"-archiver", "-archiverSecret", "s",
		"-archiverCapability", strconv.Itoa(int(archiveBit)), "-archiveRedundancy", "0", "-archiveEndGrace", "1s"}))
	a, err := plugin.OpenOrchestrator(f, plugin.OrchestratorEnv{DataDir: t.TempDir(), Offchain: true})
	require.NoError(t, err)
	require.NoError(t, a.Attach(ledger{lp}))
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, a.Close())
	})
	return &orch{Orchestrator: lp, a: a, m: newLiveMetrics()}
}
