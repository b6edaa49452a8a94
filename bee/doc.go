// Package bee speaks the HTTP API of a Swarm Bee node: uploads of files
// (/bytes) and pre-stamped chunks (/chunks), downloads (/bytes, /bzz), tags
// and postage batches.
//
// It is the only package that knows Bee's HTTP wire format. It retries
// transient failures (connection errors, 429 and 5xx) with exponential backoff
// under the caller's context; uploads are content addressed, so a retried
// upload cannot store anything twice.
package bee
