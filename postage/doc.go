// Package postage holds Swarm postage batch arithmetic and a durable,
// client-side stamp issuer.
//
// The arithmetic (Cost, TTL, AmountForTTL, CostToStore, EffectiveCapacity,
// ...) is exact integer math on PLUR (1 xBZZ = 10^16 PLUR) so that a quote
// shown to an operator is the number the postage contract will charge.
//
// The Issuer signs stamps locally with the batch owner's key instead of
// asking a Bee node to do it. Bee's own issuer keeps its bucket counters in
// memory and wraps mutable batches, and Bee's reserve silently replaces a
// chunk when another chunk arrives with the same batch and index but a newer
// timestamp. An issuer that forgets or wraps its counters therefore destroys
// previously archived data without any error. This Issuer never hands out a
// stamp before the index it uses has been durably recorded, never wraps
// (mutable or immutable), and refuses to start from a state file it cannot
// fully verify.
//
// A diluted mutable batch keeps its counters: MigrateDepth rewrites the
// state at the new depth and indices continue past the old bucket bound.
// ReadUsage reads a state's fill without the lock, for status displays.
// Buying, topping up and diluting on chain is package postage/onchain.
package postage
