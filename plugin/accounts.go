package plugin

import (
	"cmp"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/payments"
)

// keepAccounts is how many sessions' archive accounts an orchestrator
// keeps readable on /archive/status, ended sessions included.
const keepAccounts = 4096

// account is what one go-livepeer session paid for archiving.
type account struct {
	manifestID string
	sender     common.Address
	fees       *big.Rat
	bytes      uint64
}

// feeBook holds the sessions' archive accounts, oldest first; guarded by
// Orchestrator.mu.
type feeBook struct {
	bySession map[string]*account
	order     []string
}

// open starts a session's account, once.
func (a *feeBook) open(session, manifestID string) {
	if a.bySession == nil {
		a.bySession = map[string]*account{}
	}
	if _, ok := a.bySession[session]; ok {
		return
	}
	a.bySession[session] = &account{manifestID: manifestID, fees: new(big.Rat)}
	a.order = append(a.order, session)
	for len(a.order) > keepAccounts {
		delete(a.bySession, a.order[0])
		a.order = a.order[1:]
	}
}

// feeLedger is go-livepeer's ledger, through which the decorator debits
// archive fees (and only those: go-livepeer debits transcoding itself),
// with each debit recorded in the session's account.
type feeLedger struct {
	orchestrator.Ledger
	o *Orchestrator
}

func (l feeLedger) DebitFees(addr common.Address, id archiver.ManifestID, price *lpnet.PriceInfo, bytes int64) {
	l.Ledger.DebitFees(addr, id, price, bytes)
	fee, err := payments.Fee(price, bytes)
	if err != nil {
		return // the decorator charged this very price: cannot happen
	}
	l.o.mu.Lock()
	defer l.o.mu.Unlock()
	if a := l.o.accounts.bySession[string(id)]; a != nil {
		a.sender = addr
		a.fees.Add(a.fees, fee)
		a.bytes += uint64(bytes)
	}
}

// sessionAccounts are the accounts of a stream's sessions, with
// go-livepeer's balance of each.
func (o *Orchestrator) sessionAccounts(manifestID string, sender common.Address) []SessionAccount {
	o.mu.Lock()
	var out []SessionAccount
	for session, a := range o.accounts.bySession {
		if a.manifestID != manifestID || (a.sender != sender && a.sender != (common.Address{})) {
			continue
		}
		out = append(out, SessionAccount{Session: session, Sender: sender.Hex(), ArchiveFeesWei: a.fees.RatString(), ArchiveBytes: a.bytes})
	}
	o.mu.Unlock()
	for i := range out {
		if o.balances == nil {
			break
		}
		if bal := o.balances.Balance(sender, archiver.ManifestID(out[i].Session)); bal != nil {
			out[i].BalanceWei = bal.RatString()
		}
	}
	slices.SortFunc(out, func(a, b SessionAccount) int { return cmp.Compare(a.Session, b.Session) })
	return out
}
