package lpwire

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Match with errors.Is: functions wrap them with detail.
var (
	// ErrMalformed means a header, message or field could not be decoded
	// into segment credentials. go-livepeer answers 403 for all of these
	// (server/segment_rpc.go:89-93 via verifySegCreds, server/rpc.go:479-509).
	ErrMalformed = errors.New("lpwire: malformed segment credentials")

	// ErrInvalidProfile is a video profile go-livepeer refuses to convert
	// (common/util.go:186-273, server/segment_rpc.go:277-340) or that the
	// wire cannot represent. It is an ErrMalformed.
	ErrInvalidProfile = fmt.Errorf("%w: invalid video profile", ErrMalformed)

	// ErrInvalidDuration is a SegData.Duration outside [0, 5 min]
	// (server/rpc.go:505-509, errDuration). It is an ErrMalformed.
	ErrInvalidDuration = fmt.Errorf("%w: invalid duration", ErrMalformed)

	// ErrBadSignature is a signature that does not recover to the expected
	// address: errSegSig on the orchestrator (server/segment_rpc.go:361-364)
	// and errPMCheckFailed on the broadcaster (verification/verify.go:207-212).
	ErrBadSignature = errors.New("lpwire: bad signature")

	// ErrHashMismatch is a POST body whose keccak256 is not SegData.Hash
	// (server/segment_rpc.go:165-170).
	ErrHashMismatch = errors.New("lpwire: segment body hash mismatch")

	// ErrMissingAuthToken is a SegData without an auth token
	// (server/segment_rpc.go:371-374).
	ErrMissingAuthToken = errors.New("lpwire: missing auth token")

	// ErrBadPayment is an undecodable Livepeer-Payment header; go-livepeer
	// answers 402 (server/segment_rpc.go:76-81, 257-268).
	ErrBadPayment = errors.New("lpwire: malformed payment header")

	// ErrRenditionCount means the orchestrator returned a different number of
	// segments than the renditions being verified (verification/verify.go:
	// 191-193, folded into errPMCheckFailed there).
	ErrRenditionCount = errors.New("lpwire: rendition count mismatch")

	// ErrTranscodeFailed wraps the error string an orchestrator returns in
	// TranscodeResult.Error (server/segment_rpc.go:557-573).
	ErrTranscodeFailed = errors.New("lpwire: orchestrator reported a transcode error")

	// ErrUnknownResponse is a TranscodeResult with neither data nor error
	// (server/segment_rpc.go:577-583, "UnknownResponse").
	ErrUnknownResponse = errors.New("lpwire: transcode result has neither data nor error")
)

// HTTPStatus is the status code go-livepeer's ServeSegment answers for an
// error from DecodePaymentHeader, DecodeSegHeader, VerifySegCreds or
// VerifyBody, so a testbed orchestrator fails the same way a real one does.
// Errors this package does not define map to 500; the
// caller's own ProcessPayment and balance failures are 400 in go-livepeer
// (server/segment_rpc.go:103-116) and are not this package's to classify.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrBadPayment):
		return http.StatusPaymentRequired // server/segment_rpc.go:79
	case errors.Is(err, ErrMalformed),
		errors.Is(err, ErrBadSignature),
		errors.Is(err, ErrMissingAuthToken), // server/segment_rpc.go:92
		errors.Is(err, ErrHashMismatch):     // server/segment_rpc.go:168
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}
