package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
)

// The event schema: every event Keyrite writes, or ever wrote, with the type of its data. It
// is the one place that names them; writers and readers use these constants and types, and
// docs/transcript.md's event table is generated from Events (see TestDocsEventTable).
//
// A type may describe several shapes written over time or by several steps (key.imported is
// written for a key pair and for a secret key): fields that only some records carry are
// marked omitempty, and readers treat a zero value as "not recorded". Fields are only ever
// added, never renamed or retyped, so every record ever written decodes into its type.
const (
	// Roll call and clock, before the HSM is touched.
	EventParticipantPresent = "participant.present"
	EventParticipantAbsent  = "participant.absent" // written by early versions only
	EventClockConfirmed     = "clock.confirmed"
	EventClockDisputed      = "clock.disputed" // written by early versions only
	EventWitnessConfirmed   = "witness.confirmed"
	EventWitnessDeclined    = "witness.declined"
	EventBagsSealed         = "bags.sealed"
	EventBagsDisputed       = "bags.disputed"

	// The script, the HSM and the token.
	EventScriptLoaded   = "script.loaded"
	EventHSMIdentified  = "hsm.identified"
	EventHSMLogin       = "hsm.login"
	EventTokenInventory = "token.inventory"

	// Keys.
	EventKeyGenerated  = "key.generated"
	EventKeyRestored   = "key.restored"
	EventKeyImported   = "key.imported"
	EventKeyVerified   = "key.verified"
	EventKeyChecked    = "key.checked"
	EventKeyIdentified = "key.identified"
	EventKeyDestroyed  = "key.destroyed"
	EventKeyExported   = "key.exported"
	EventKeyMigrated   = "key.migrated"
	EventKeyState      = "key.state"
	EventKeyWrapped    = "key.wrapped"

	// The key-encryption key of a quorum backup and its shares.
	EventKEKGenerated      = "kek.generated"
	EventKEKSplit          = "kek.split"
	EventKEKInstalled      = "kek.installed"
	EventKEKDestroyed      = "kek.destroyed"
	EventKEKRebuilt        = "kek.rebuilt"
	EventKEKRejected       = "kek.rejected"
	EventShareIssued       = "share.issued"
	EventShareConfirmed    = "share.confirmed"
	EventShareNotConfirmed = "share.not-confirmed"
	EventShareRefused      = "share.refused"
	EventShareNotEntered   = "share.not-entered"
	EventShareAccepted     = "share.accepted"
	EventSharesVoided      = "shares.voided"
	EventSharesCommitted   = "shares.committed"
	EventSharesUncommitted = "shares.uncommitted"
	EventShareBagged       = "share.bagged"
	EventShareCopies       = "share.copies-destroyed"
	EventShareProven       = "share.proven"
	EventShareNotProven    = "share.not-proven"
	EventDrillResult       = "drill.result"
	EventShareDestroyed    = "share.destroyed"
	EventShareNotDestroyed = "share.not-destroyed"
	EventBackupRetired     = "backup.retired"
	EventRetiredOverride   = "backup.retired-override"
	EventBackupSuperseded  = "backup.superseded"

	// Certificates and CRLs.
	EventCertificateIssued = "certificate.issued"
	EventCertificateLinted = "certificate.linted"
	EventCRLIssued         = "crl.issued"
	EventCRLLinted         = "crl.linted"
	// EventCertificateRelinted and EventCRLRelinted: the issued bytes linted again (every
	// lint, the real keys) and compared with the lint of the same shape before signing.
	EventCertificateRelinted = "certificate.relinted"
	EventCRLRelinted         = "crl.relinted"
	EventCSRChecked          = "csr.checked"
	EventOCSPSigned          = "ocsp.signed"
	EventOCSPLinted          = "ocsp.linted"
	EventOutsideCAChecked    = "outside-ca.checked"

	// Ceremonies that continue or read another one, and key transfers.
	EventPreviousVerified     = "previous.verified"
	EventHierarchyRotated     = "hierarchy.rotated"
	EventTransferVerified     = "transfer.verified"
	EventTransportEstablished = "transport.established"
	EventImportJobCreated     = "import-job.created"
	EventMigrationStarted     = "migration.started"
	EventReconciliation       = "reconciliation"

	// Clean-up of what an interruption left behind, and refusals.
	EventCleanupDestroyed    = "cleanup.destroyed"
	EventCleanupRemovedFile  = "cleanup.removed-file"
	EventCleanupDeclined     = "cleanup.declined"
	EventDestructionDeclined = "destruction.declined"

	// The pre-flight, the key states a continuing ceremony inherits, and the close of a
	// ceremony a refusal stopped after it opened.
	EventPreflightPassed = "preflight.passed"
	EventHierarchyState  = "hierarchy.state"
	EventAborted         = "ceremony.aborted"
	EventKeyLeft         = "key.left-on-token"

	// The room's control of a running ceremony: the witness's "about to" gate before a
	// dangerous HSM call, and an exception written, signed off and gone on from.
	EventGateConfirmed = "gate.confirmed"
	EventGateDeclined  = "gate.declined"
	EventException     = "exception.recorded"
)

// EventSpec is one event of the schema.
type EventSpec struct {
	Name string
	// Data is the type of the record's data (a struct), or nil for an event without data.
	Data reflect.Type
	// Doc says what the record means, for docs/transcript.md.
	Doc string
}

func spec[T any](name, doc string) EventSpec {
	return EventSpec{Name: name, Data: reflect.TypeFor[T](), Doc: doc}
}

// Events is the schema, sorted by name.
var Events = sortedEvents(
	spec[Opening](EventOpened, "the first record of every transcript"),
	spec[Closing](EventClosed, "the last record, signed by the seal"),
	spec[Resumption](EventResumed, "a new process continues an unsealed transcript"),
	spec[StepStart](EventStepStarted, "a scripted step begins"),
	EventSpec{Name: EventStepCompleted, Doc: "the step ended well (no data)"},
	spec[StepFailure](EventStepFailed, "the step failed; the ceremony stops or is resumed"),
	spec[Output](EventOutput, "a file written into the ceremony folder, checked by the verifier"),
	spec[Superseded](EventSuperseded, "an output moved aside before its step runs again; the verifier checks it at moved_to"),
	spec[Signer](EventSigner, "the key that seals this transcript, with its chain up to the self-signed root"),
	spec[Discarded](EventTornDiscarded, "an incomplete last record cut off before a resume"),
	spec[Rotation](EventRootRotated, "a new root and transcript signer take over the hierarchy"),

	spec[Presence](EventParticipantPresent, "a participant confirmed present at the roll call"),
	spec[Presence](EventParticipantAbsent, "a participant absent at the roll call (early versions)"),
	spec[ClockCheck](EventClockConfirmed, "a witness confirmed the machine's clock"),
	spec[ClockCheck](EventClockDisputed, "a witness disputed the machine's clock (early versions)"),
	spec[Witnessing](EventWitnessConfirmed, "a witness confirmed the step"),
	spec[Witnessing](EventWitnessDeclined, "a witness declined to confirm the step"),
	spec[Bags](EventBagsSealed, "tamper-evident bags sealed before a witness"),
	spec[Bags](EventBagsDisputed, "a witness disputed the sealing of the bags"),

	spec[ScriptLoaded](EventScriptLoaded, "the script's title, participants, equipment and key"),
	spec[HSMIdentified](EventHSMIdentified, "the PKCS#11 module and token used (role target: a migration's second token)"),
	spec[Login](EventHSMLogin, "logged in to the token"),
	spec[TokenInventory](EventTokenInventory, "the objects on a token before and after the ceremony"),

	spec[Key](EventKeyGenerated, "a key pair generated on the token, its public key and self-test"),
	spec[Key](EventKeyRestored, "a key pair restored from its backup"),
	spec[Key](EventKeyImported, "a key imported (a key pair, or a secret key identified by its check value)"),
	spec[KeyVerified](EventKeyVerified, "a restored key proved to be the backed-up one"),
	spec[KeyChecked](EventKeyChecked, "a key to export found and its attributes read"),
	spec[KeyIdentified](EventKeyIdentified, "the key a destruction will remove, identified"),
	spec[KeyDestroyed](EventKeyDestroyed, "a key destroyed and checked absent"),
	spec[KeyExported](EventKeyExported, "a key wrapped for another HSM or cloud provider"),
	spec[KeyMigrated](EventKeyMigrated, "a key moved to the target token, check values equal"),
	spec[KeyState](EventKeyState, "a key's life-cycle state changed"),
	spec[KeyWrapped](EventKeyWrapped, "a key wrapped under the split KEK (a quorum backup)"),

	spec[KEKGenerated](EventKEKGenerated, "a key-encryption key made from the token's random numbers"),
	spec[KEKSplit](EventKEKSplit, "the KEK split into shares, every threshold subset self-tested"),
	spec[KEKInstalled](EventKEKInstalled, "the KEK installed on the token as a session object"),
	spec[KEKDestroyed](EventKEKDestroyed, "the KEK removed from the token"),
	spec[KEKRebuilt](EventKEKRebuilt, "the KEK rebuilt from shares; its check value matches"),
	spec[KEKRejected](EventKEKRejected, "a KEK rebuilt from shares has the wrong check value"),
	spec[ShareIssued](EventShareIssued, "a share sheet handed to a custodian (the code is never recorded)"),
	spec[ShareConfirmation](EventShareConfirmed, "a custodian typed their share back correctly"),
	spec[ShareConfirmation](EventShareNotConfirmed, "a custodian could not type their share back"),
	spec[ShareRefusal](EventShareRefused, "an entered share was refused, and why"),
	spec[ShareNotEntered](EventShareNotEntered, "a custodian gave up entering a share"),
	spec[ShareAccepted](EventShareAccepted, "an entered share was accepted"),
	spec[SharesVoided](EventSharesVoided, "shares handed out before an interruption are void"),
	spec[SharesCommitted](EventSharesCommitted, "a commitment to each share of a split, bound to its custodian (quorum/commit.go)"),
	spec[SharesUncommitted](EventSharesUncommitted, "the backup read has no share commitments (an earlier Keyrite): shares checked by KCV only"),
	spec[ShareBagged](EventShareBagged, "a witness saw a custodian seal their share sheet in its bag"),
	spec[ShareCopies](EventShareCopies, "a witness confirmed no electronic copy of any share sheet remains"),
	spec[ShareProof](EventShareProven, "in a drill, a custodian typed a share that matches its commitment (not combined, then forgotten)"),
	spec[ShareNotEntered](EventShareNotProven, "in a drill, a custodian did not prove possession of a share"),
	spec[DrillResult](EventDrillResult, "a drill's verdict: who proved possession, against the minimum and the threshold"),
	spec[ShareDestruction](EventShareDestroyed, "a reshare: a witness saw an old share sheet destroyed"),
	spec[ShareDestruction](EventShareNotDestroyed, "a reshare: an old share sheet was not seen destroyed, and why"),
	spec[BackupRetired](EventBackupRetired, "a reshare retired the previous backup: old sheets and wrapped-key media destroyed"),
	spec[RetiredOverride](EventRetiredOverride, "a disaster-recovery restore from a retired backup, with its reason"),
	spec[BackupSuperseded](EventBackupSuperseded, "a reshare replaced the previous backup"),

	spec[CertificateIssued](EventCertificateIssued, "a certificate signed"),
	spec[CertificateLinted](EventCertificateLinted, "a certificate linted before it is written"),
	spec[CRLIssued](EventCRLIssued, "a CRL signed"),
	spec[CRLLinted](EventCRLLinted, "a CRL linted before it is written"),
	spec[Relinted](EventCertificateRelinted, "a signed certificate linted again, every lint on its real keys, and compared with its lint before signing; a difference aborts the ceremony"),
	spec[Relinted](EventCRLRelinted, "a signed CRL linted again and compared with its lint before signing; a difference aborts the ceremony"),
	spec[CSRChecked](EventCSRChecked, "a certificate signing request checked"),
	spec[OCSPSigned](EventOCSPSigned, "an OCSP response signed ahead, about one certificate of the root"),
	spec[OCSPLinted](EventOCSPLinted, "an OCSP response linted once signed and compared with its lint before signing; a difference stops it being written"),
	spec[OutsideCAChecked](EventOutsideCAChecked, "the outside CA a cross-certification certifies: its certificate or request, checked"),

	spec[PreviousVerified](EventPreviousVerified, "the sealed ceremony this one continues, verified and quoted"),
	spec[HierarchyRotated](EventHierarchyRotated, "this ceremony continues the hierarchy under its new root"),
	spec[TransferVerified](EventTransferVerified, "the export ceremony an import reads, verified"),
	spec[TransportEstablished](EventTransportEstablished, "a migration's transport key on both tokens"),
	spec[ImportJobCreated](EventImportJobCreated, "an import job's wrapping key generated"),
	spec[MigrationStarted](EventMigrationStarted, "a bulk migration begins"),
	spec[Reconciliation](EventReconciliation, "source and target tokens compared after a migration"),

	spec[CleanupDestroyed](EventCleanupDestroyed, "objects an interruption left, destroyed with two people's consent"),
	spec[CleanupRemovedFile](EventCleanupRemovedFile, "a file an interruption left, removed"),
	spec[CleanupDeclined](EventCleanupDeclined, "a clean-up declined; nothing was destroyed"),
	spec[Refusal](EventDestructionDeclined, "the security officer declined a key destruction"),

	spec[PreflightPassed](EventPreflightPassed, "every check that needs no secret passed before the HSM was changed"),
	spec[HierarchyState](EventHierarchyState, "the key states and last CRL numbers this ceremony inherits from those it continues"),
	spec[Aborted](EventAborted, "a refusal stopped the ceremony after it opened; it closes as aborted"),
	spec[KeyLeft](EventKeyLeft, "a key an aborted ceremony created is left on the token: its destruction was declined"),

	spec[Gate](EventGateConfirmed, "the witness confirmed what the step is about to do, on which token, before the HSM call"),
	spec[Gate](EventGateDeclined, "the witness did not let the step's HSM call happen; nothing was done"),
	spec[Exception](EventException, "an exception to the script, with its reason, signed off by a witness; the ceremony went on"),
)

func sortedEvents(specs ...EventSpec) []EventSpec {
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	return specs
}

// EventByName returns the schema of an event, and whether it is known.
func EventByName(name string) (EventSpec, bool) {
	i := sort.Search(len(Events), func(i int) bool { return Events[i].Name >= name })
	if i < len(Events) && Events[i].Name == name {
		return Events[i], true
	}
	return EventSpec{}, false
}

// Fields are the JSON names of the data's fields, in declaration order.
func (s EventSpec) Fields() []string {
	if s.Data == nil {
		return nil
	}
	var out []string
	for i := range s.Data.NumField() {
		name, _, _ := cutComma(s.Data.Field(i).Tag.Get("json"))
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func cutComma(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// ErrUnknownEvent is returned by DecodeEvent for an event the schema does not name.
var ErrUnknownEvent = errors.New("event not in the schema")

// DecodeEvent decodes the record's data into a new value of its schema type, strictly: a
// field the type does not know is an error. It returns nil for an event without data.
func DecodeEvent(r *Record) (any, error) {
	s, ok := EventByName(r.Event)
	if !ok {
		return nil, fmt.Errorf("record %d: %q: %w", r.Seq, r.Event, ErrUnknownEvent)
	}
	if s.Data == nil {
		if len(r.Data) != 0 && !bytes.Equal(r.Data, []byte("null")) {
			return nil, fmt.Errorf("record %d (%s): carries data, the schema has none", r.Seq, r.Event)
		}
		return nil, nil
	}
	v := reflect.New(s.Data)
	dec := json.NewDecoder(bytes.NewReader(r.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		return nil, fmt.Errorf("record %d (%s): data: %w", r.Seq, r.Event, err)
	}
	return v.Interface(), nil
}

// Data decodes the data of a record of the event the type T describes.
func Data[T any](r *Record) (T, error) {
	var v T
	err := r.DecodeData(&v)
	return v, err
}

// Closing is the data of EventClosed. Result is "completed", or "aborted" with the reason.
type Closing struct {
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// Results of a ceremony, in Closing.Result.
const (
	ResultCompleted = "completed"
	ResultAborted   = "aborted"
)

// StepStart is the data of EventStepStarted.
type StepStart struct {
	Title           string `json:"title"`
	Actor           string `json:"actor"`
	WitnessRequired bool   `json:"witness_required"`
}

// StepFailure is the data of EventStepFailed.
type StepFailure struct {
	Error string `json:"error"`
}

// Participant is a person named by the script.
type Participant struct {
	Name string `json:"name"`
	Role string `json:"role"`
	Bag  string `json:"bag,omitempty"`
}

// Presence is the data of EventParticipantPresent (and EventParticipantAbsent, which held a
// Participant).
type Presence struct {
	Name        string `json:"name"`
	Role        string `json:"role"`
	Bag         string `json:"bag,omitempty"`
	ConfirmedAt string `json:"confirmed_at,omitempty"`
}

// ClockCheck is the data of EventClockConfirmed and EventClockDisputed.
type ClockCheck struct {
	MachineTime string `json:"machine_time"`
	Witness     string `json:"witness"`
}

// Witnessing is the data of EventWitnessConfirmed and EventWitnessDeclined.
type Witnessing struct {
	Witness string `json:"witness"`
	Reason  string `json:"reason,omitempty"`
}

// Bags is the data of EventBagsSealed and EventBagsDisputed.
type Bags struct {
	Bags    []string `json:"bags"`
	Witness string   `json:"witness"`
	Reason  string   `json:"reason,omitempty"`
}

// Equipment is the hardware in the room as the script names it.
type Equipment struct {
	HSM    string   `json:"hsm"`
	Laptop string   `json:"laptop"`
	Bags   []string `json:"bags"`
}

// ScriptKey is the key section of a script, as recorded.
type ScriptKey struct {
	Label     string `json:"label"`
	Algorithm string `json:"algorithm"`
	Backup    bool   `json:"backup"`
}

// ScriptLoaded is the data of EventScriptLoaded.
type ScriptLoaded struct {
	Title        string        `json:"title"`
	Participants []Participant `json:"participants"`
	Equipment    Equipment     `json:"equipment"`
	Key          ScriptKey     `json:"key"`
}

// ModuleInfo describes a PKCS#11 module.
type ModuleInfo struct {
	Manufacturer string `json:"manufacturer"`
	Description  string `json:"description"`
	Version      string `json:"version"`
	Cryptoki     string `json:"cryptoki"`
}

// TokenInfo describes a PKCS#11 token.
type TokenInfo struct {
	Label        string `json:"label"`
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	Serial       string `json:"serial"`
	Firmware     string `json:"firmware"`
	Hardware     string `json:"hardware"`
	Initialized  bool   `json:"initialized"`
	UserPINSet   bool   `json:"user_pin_initialized"`
}

// HSMIdentified is the data of EventHSMIdentified. Role "target" is a migration's second
// token; it records no module.
type HSMIdentified struct {
	Role         string      `json:"role,omitempty"`
	Module       *ModuleInfo `json:"module,omitempty"`
	ModulePath   string      `json:"module_path,omitempty"`
	ModuleSHA256 string      `json:"module_sha256,omitempty"`
	Token        TokenInfo   `json:"token"`
	Rehearsal    bool        `json:"rehearsal"`
}

// Login is the data of EventHSMLogin.
type Login struct {
	Role        string `json:"role"`
	TokenSerial string `json:"token_serial"`
}

// Object is one object on a token.
type Object struct {
	Class   string `json:"class"`
	KeyType string `json:"key_type,omitempty"`
	Label   string `json:"label"`
	ID      string `json:"id,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Objects is a token's objects as an inventory records them: the list, or for a migration's
// target token only their number.
type Objects struct {
	List  []Object // nil when only the count was recorded
	Count int
}

// MarshalJSON writes the list, or the count when there is no list.
func (o Objects) MarshalJSON() ([]byte, error) {
	if o.List == nil {
		return strconv.AppendInt(nil, int64(o.Count), 10), nil
	}
	return json.Marshal(o.List)
}

// UnmarshalJSON reads a list or a count.
func (o *Objects) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		o.List = []Object{}
		if err := json.Unmarshal(b, &o.List); err != nil {
			return err
		}
		o.Count = len(o.List)
		return nil
	}
	o.List = nil
	return json.Unmarshal(b, &o.Count)
}

// TokenInventory is the data of EventTokenInventory.
type TokenInventory struct {
	When        string  `json:"when"` // "before" or "after"
	TokenSerial string  `json:"token_serial"`
	Role        string  `json:"role,omitempty"`
	Objects     Objects `json:"objects"`
	Unreadable  int     `json:"unreadable,omitempty"`
}

// Attributes are PKCS#11 boolean attributes as read back from the token, by name.
type Attributes map[string]bool

// KCV is a key check value with its method.
type KCV struct {
	Method string `json:"method"`
	Value  string `json:"value"`
}

// Key is the data of EventKeyGenerated, EventKeyRestored and EventKeyImported. A key pair
// carries the first ten fields; a secret key imported carries label, kind, its check value and
// what the import checked.
type Key struct {
	Label      string     `json:"label"`
	ID         string     `json:"id,omitempty"`
	Algorithm  string     `json:"algorithm,omitempty"`
	SPKISHA256 string     `json:"spki_sha256,omitempty"`
	Words      string     `json:"spki_sha256_words,omitempty"`
	PublicKey  string     `json:"public_key,omitempty"` // PEM
	Attributes Attributes `json:"attributes,omitempty"`
	SelfTest   string     `json:"self_test,omitempty"`
	Token      string     `json:"token_serial,omitempty"`
	Purpose    string     `json:"purpose,omitempty"`

	Kind             string `json:"kind,omitempty"`
	KCV              string `json:"kcv,omitempty"`
	KCVMethod        string `json:"kcv_method,omitempty"`
	MatchesExport    bool   `json:"matches_export,omitempty"`
	AttributesForced string `json:"attributes_forced,omitempty"`
	// CryptoperiodEnd is when the key's cryptoperiod ends, if its script gave one.
	CryptoperiodEnd string `json:"cryptoperiod_end,omitempty"`
}

// KeyVerified is the data of EventKeyVerified.
type KeyVerified struct {
	Label             string `json:"label"`
	Check             string `json:"check"`
	CertificateSHA256 string `json:"certificate_sha256"`
}

// KeyChecked is the data of EventKeyChecked.
type KeyChecked struct {
	Label      string     `json:"label"`
	Kind       string     `json:"kind,omitempty"`
	Algorithm  string     `json:"algorithm,omitempty"`
	SPKISHA256 string     `json:"spki_sha256,omitempty"`
	Attributes Attributes `json:"attributes"`
}

// KeyIdentified is the data of EventKeyIdentified.
type KeyIdentified struct {
	Label      string `json:"label"`
	Kind       string `json:"kind"`
	Algorithm  string `json:"algorithm,omitempty"`
	SPKISHA256 string `json:"spki_sha256,omitempty"`
	Words      string `json:"spki_sha256_words,omitempty"`
	KCV        string `json:"kcv,omitempty"`
	KCVMethod  string `json:"kcv_method,omitempty"`
}

// KeyDestroyed is the data of EventKeyDestroyed.
type KeyDestroyed struct {
	Label          string `json:"label"`
	Objects        int    `json:"objects"`
	Reason         string `json:"reason"`
	ConfirmedBy    string `json:"confirmed_by"`
	TokenSerial    string `json:"token_serial"`
	VerifiedAbsent bool   `json:"verified_absent"`
}

// KeyExported is the data of EventKeyExported: a key pair is identified by its SPKI hash, a
// secret key by its check value.
type KeyExported struct {
	Label           string `json:"label"`
	Kind            string `json:"kind"`
	SPKISHA256      string `json:"spki_sha256,omitempty"`
	KCV             string `json:"kcv,omitempty"`
	KCVMethod       string `json:"kcv_method,omitempty"`
	Provider        string `json:"provider"`
	Method          string `json:"method"`
	OAEPHash        string `json:"oaep_hash"`
	WrappingKeySPKI string `json:"wrapping_key_spki_sha256"`
	File            string `json:"file"`
	FileSHA256      string `json:"file_sha256"`
	Bytes           int64  `json:"bytes"`
}

// KeyMigrated is the data of EventKeyMigrated.
type KeyMigrated struct {
	Label     string `json:"label"`
	ID        string `json:"id"`
	KCV       string `json:"kcv"`
	KCVMethod string `json:"kcv_method"`
	Note      string `json:"note,omitempty"`
}

// KeyState is the data of EventKeyState; in a HierarchyState, Ceremony names the ceremony
// that recorded it.
type KeyState struct {
	Label      string `json:"label"`
	SPKISHA256 string `json:"spki_sha256"`
	State      string `json:"state"`
	Since      string `json:"since"`
	Reason     string `json:"reason,omitempty"`
	Ceremony   string `json:"ceremony,omitempty"`
	// CryptoperiodEnd is when the key's cryptoperiod ends, if its generation recorded one.
	CryptoperiodEnd string `json:"cryptoperiod_end,omitempty"`
}

// KeyWrapped is the data of EventKeyWrapped.
type KeyWrapped struct {
	Label       string `json:"label"`
	SPKISHA256  string `json:"spki_sha256"`
	UnderKEKKCV KCV    `json:"under_kek_kcv"`
	Mechanism   string `json:"mechanism"`
	BlobSHA256  string `json:"blob_sha256"`
	BlobSize    int64  `json:"blob_size"`
}

// KEKGenerated is the data of EventKEKGenerated.
type KEKGenerated struct {
	Source      string `json:"source"`
	TokenSerial string `json:"token_serial"`
	Bits        int    `json:"bits"`
	KCV         KCV    `json:"kcv"`
}

// KEKSplit is the data of EventKEKSplit.
type KEKSplit struct {
	Scheme          string `json:"scheme"`
	Threshold       int    `json:"threshold"`
	Shares          int    `json:"shares"`
	SelfTestSubsets int    `json:"self_test_subsets"`
	ShareCode       string `json:"share_code"` // the code's format, never a code
}

// KEKInstalled is the data of EventKEKInstalled.
type KEKInstalled struct {
	Label         string     `json:"label"`
	By            string     `json:"by,omitempty"`
	Role          string     `json:"role,omitempty"`
	SessionObject bool       `json:"session_object"`
	Attributes    Attributes `json:"attributes"`
}

// KEKDestroyed is the data of EventKEKDestroyed.
type KEKDestroyed struct {
	Label string `json:"label"`
}

// KEKRebuilt is the data of EventKEKRebuilt.
type KEKRebuilt struct {
	Shares     int  `json:"shares"`
	KCV        KCV  `json:"kcv"`
	KCVMatches bool `json:"kcv_matches"`
}

// KEKRejected is the data of EventKEKRejected.
type KEKRejected struct {
	Reason      string `json:"reason"`
	ExpectedKCV KCV    `json:"expected_kcv"`
}

// ShareIssued is the data of EventShareIssued.
type ShareIssued struct {
	Custodian string `json:"custodian"`
	Number    int    `json:"number"`
	Of        int    `json:"of"`
	Threshold int    `json:"threshold"`
	Sheet     string `json:"sheet,omitempty"` // the file name, when written to a folder
	Bag       string `json:"bag"`
	// Recorded since share sheets have a destination outside the evidence.
	Document    string `json:"document,omitempty"`    // the sheet's document number
	Destination string `json:"destination,omitempty"` // where the sheet went: a printer, a medium
	Witness     string `json:"witness,omitempty"`     // who saw it go there and handed over
}

// ShareConfirmation is the data of EventShareConfirmed and EventShareNotConfirmed.
type ShareConfirmation struct {
	Custodian      string `json:"custodian"`
	Number         int    `json:"number"`
	FailedAttempts int    `json:"failed_attempts"`
}

// ShareRefusal is the data of EventShareRefused.
type ShareRefusal struct {
	Custodian string `json:"custodian"`
	Reason    string `json:"reason"`
}

// ShareNotEntered is the data of EventShareNotEntered.
type ShareNotEntered struct {
	Custodian string `json:"custodian"`
	Refusals  int    `json:"refusals"`
}

// ShareAccepted is the data of EventShareAccepted.
type ShareAccepted struct {
	Custodian string `json:"custodian"`
	Number    int    `json:"number"`
	Of        int    `json:"of"`
	Refusals  int    `json:"refusals"`
}

// SharesVoided is the data of EventSharesVoided.
type SharesVoided struct {
	Numbers []int  `json:"numbers"`
	Reason  string `json:"reason"`
	// UnrecordedSheets names sheets written but not yet recorded as issued when the
	// ceremony stopped; they were removed.
	UnrecordedSheets []string `json:"unrecorded_sheets,omitempty"`
}

// ShareCommitment is one share's commitment, bound to the custodian it was handed to.
type ShareCommitment struct {
	Number    int    `json:"number"`
	Custodian string `json:"custodian"`
	SHA256    string `json:"sha256"`
}

// SharesCommitted is the data of EventSharesCommitted (quorum.Commitments).
type SharesCommitted struct {
	Scheme string            `json:"scheme"`
	Salt   string            `json:"salt"` // hex, 32 random bytes per split
	Shares []ShareCommitment `json:"shares"`
}

// SharesUncommitted is the data of EventSharesUncommitted.
type SharesUncommitted struct {
	BackupCeremony string `json:"backup_ceremony"`
	Consequence    string `json:"consequence"`
}

// ShareBagged is the data of EventShareBagged.
type ShareBagged struct {
	Custodian string `json:"custodian"`
	Number    int    `json:"number"`
	Bag       string `json:"bag"`
	Witness   string `json:"witness"`
}

// ShareCopies is the data of EventShareCopies.
type ShareCopies struct {
	Destination string `json:"destination"`
	Witness     string `json:"witness"`
	Copies      string `json:"copies"` // what became of the electronic copies
}

// ShareProof is the data of EventShareProven.
type ShareProof struct {
	Custodian string `json:"custodian"`
	Number    int    `json:"number"`
	Of        int    `json:"of"`
	Refusals  int    `json:"refusals"`
	Bag       string `json:"bag,omitempty"` // the new bag the sheet was resealed in
}

// DrillResult is the data of EventDrillResult.
type DrillResult struct {
	BackupCeremony string   `json:"backup_ceremony"`
	KeyLabel       string   `json:"key_label"`
	Proven         []string `json:"proven"` // the custodians who proved possession, in order
	Custodians     int      `json:"custodians"`
	Minimum        int      `json:"minimum"`
	Threshold      int      `json:"threshold"`
	Shares         int      `json:"shares"`
	Healthy        bool     `json:"healthy"`
	Verdict        string   `json:"verdict"`
}

// ShareDestruction is the data of EventShareDestroyed and EventShareNotDestroyed.
type ShareDestruction struct {
	Custodian string `json:"custodian"`
	Number    int    `json:"number"`
	Bag       string `json:"bag"`
	Witness   string `json:"witness"`
	Reason    string `json:"reason,omitempty"`
}

// BackupRetired is the data of EventBackupRetired.
type BackupRetired struct {
	KeyLabel           string `json:"key_label,omitempty"`
	PreviousCeremony   string `json:"previous_ceremony"`
	PreviousBlobSHA256 string `json:"previous_blob_sha256"`
	SheetsDestroyed    int    `json:"sheets_destroyed"`
	Media              string `json:"media"`
	Witness            string `json:"witness"`
}

// RetiredOverride is the data of EventRetiredOverride.
type RetiredOverride struct {
	BackupCeremony string `json:"backup_ceremony"`
	RetiredBy      string `json:"retired_by"`
	Reason         string `json:"reason"`
	Witness        string `json:"witness"`
}

// BackupSuperseded is the data of EventBackupSuperseded.
type BackupSuperseded struct {
	PreviousCeremony   string `json:"previous_ceremony"`
	PreviousBlobSHA256 string `json:"previous_blob_sha256"`
	Note               string `json:"note"`
}

// CertificateIssued is the data of EventCertificateIssued.
type CertificateIssued struct {
	Name               string `json:"name"`
	Subject            string `json:"subject"`
	Issuer             string `json:"issuer"`
	Serial             string `json:"serial"` // hex
	NotBefore          string `json:"not_before"`
	NotAfter           string `json:"not_after"`
	SHA256             string `json:"sha256"`
	SPKISHA256         string `json:"spki_sha256"`
	SignatureAlgorithm string `json:"signature_algorithm"`
}

// CertificateLinted is the data of EventCertificateLinted: lint names by result status.
type CertificateLinted struct {
	Linter   string              `json:"linter"`
	LintsRun int                 `json:"lints_run"`
	Findings map[string][]string `json:"findings"`
	// Waived are the lints that found something the profile's private preset waives, each
	// with the reason (docs/pki.md).
	Waived map[string]string `json:"waived,omitempty"`
}

// CRLIssued is the data of EventCRLIssued.
type CRLIssued struct {
	Number     int64  `json:"number"`
	ThisUpdate string `json:"this_update"`
	NextUpdate string `json:"next_update"`
	Revoked    int    `json:"revoked"`
	Issuer     string `json:"issuer"`
	SHA256     string `json:"sha256"`
	// Entries are the revoked certificates (recorded since per-entry dates and reasons);
	// DistributionPoint the issuing distribution point's URL, if the CRL has one.
	Entries           []CRLEntry `json:"entries,omitempty"`
	DistributionPoint string     `json:"distribution_point,omitempty"`
}

// CRLEntry is one revoked certificate of a CRL, or one certificate an OCSP response answers for.
type CRLEntry struct {
	Serial    string `json:"serial"` // hex
	RevokedAt string `json:"revoked_at"`
	Reason    string `json:"reason,omitempty"` // RFC 5280 name; none: no reasonCode extension
}

// Relinted is the data of EventCertificateRelinted and EventCRLRelinted: what zlint said of
// the issued bytes, and whether it is what it said before signing. Differences name each
// finding seen on one side only: "+warn w_x" after signing, "-warn w_x" before.
type Relinted struct {
	Name        string              `json:"name"`
	SHA256      string              `json:"sha256"`
	Linter      string              `json:"linter"`
	LintsRun    int                 `json:"lints_run"`
	Findings    map[string][]string `json:"findings"`
	Waived      []string            `json:"waived,omitempty"`
	Same        bool                `json:"same"`
	Differences []string            `json:"differences,omitempty"`
}

// CRLLinted is the data of EventCRLLinted.
type CRLLinted struct {
	Linter   string   `json:"linter"`
	LintsRun int      `json:"lints_run"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

// OCSPSigned is the data of EventOCSPSigned.
type OCSPSigned struct {
	File          string `json:"file"`
	Serial        string `json:"serial"`  // hex
	Subject       string `json:"subject"` // of the certificate the response is about
	Status        string `json:"status"`  // good or revoked
	RevokedAt     string `json:"revoked_at,omitempty"`
	Reason        string `json:"reason,omitempty"`
	ThisUpdate    string `json:"this_update"`
	NextUpdate    string `json:"next_update"`
	Responder     string `json:"responder"`
	ResponderSPKI string `json:"responder_spki_sha256"`
	SHA256        string `json:"sha256"`
}

// OCSPLinted is the data of EventOCSPLinted: lint names by result status.
type OCSPLinted struct {
	Name     string              `json:"name"`
	Linter   string              `json:"linter"`
	LintsRun int                 `json:"lints_run"`
	Findings map[string][]string `json:"findings"`
	// Same: the signed response lints as its shape did before signing; Differences names
	// each finding seen on one side only ("+" after signing, "-" before).
	Same        bool     `json:"same"`
	Differences []string `json:"differences,omitempty"`
}

// OutsideCAChecked is the data of EventOutsideCAChecked.
type OutsideCAChecked struct {
	Kind               string `json:"kind"` // certificate or certificate request
	File               string `json:"file"` // its copy in the ceremony folder
	Subject            string `json:"subject"`
	SHA256             string `json:"sha256"`
	SPKISHA256         string `json:"spki_sha256"`
	Words              string `json:"spki_sha256_words"`
	Signature          string `json:"signature"` // what the check of its own signature found
	SignatureAlgorithm string `json:"signature_algorithm"`
	NameConstraints    string `json:"name_constraints,omitempty"` // what the cross-certificate's allow
}

// CSRChecked is the data of EventCSRChecked.
type CSRChecked struct {
	Subject            string `json:"subject"`
	SHA256             string `json:"sha256"`
	SPKISHA256         string `json:"spki_sha256"`
	Words              string `json:"spki_sha256_words"`
	Signature          string `json:"signature"`
	SignatureAlgorithm string `json:"signature_algorithm"`
}

// BackupSummary is what a restore or reshare records of the backup it reads.
type BackupSummary struct {
	KeyLabel   string `json:"key_label"`
	SPKISHA256 string `json:"spki_sha256"`
	Threshold  int    `json:"threshold"`
	Shares     int    `json:"shares"`
	KEKKCV     KCV    `json:"kek_kcv"`
	BlobSHA256 string `json:"blob_sha256"`
}

// PreviousVerified is the data of EventPreviousVerified.
type PreviousVerified struct {
	CeremonyID string         `json:"ceremony_id"`
	Checkpoint string         `json:"checkpoint"` // the previous seal, verbatim
	Records    int            `json:"records"`
	RootSPKI   string         `json:"root_spki_sha256"`
	Signer     string         `json:"signer,omitempty"`
	Backup     *BackupSummary `json:"backup,omitempty"`
}

// HierarchyRotated is the data of EventHierarchyRotated.
type HierarchyRotated struct {
	FromRootSPKI string `json:"from_root_spki_sha256"`
	ToRootSPKI   string `json:"to_root_spki_sha256"`
}

// TransferVerified is the data of EventTransferVerified.
type TransferVerified struct {
	ExportCeremony string `json:"export_ceremony"`
	Checkpoint     string `json:"checkpoint"`
	KeyLabel       string `json:"key_label"`
	SPKISHA256     string `json:"spki_sha256"`
	Method         string `json:"method"`
	FileSHA256     string `json:"file_sha256"`
}

// TransportEstablished is the data of EventTransportEstablished.
type TransportEstablished struct {
	KCV              KCV        `json:"kcv"`
	SourceToken      string     `json:"source_token"`
	TargetToken      string     `json:"target_token"`
	SourceAttributes Attributes `json:"source_attributes"`
	TargetAttributes Attributes `json:"target_attributes"`
}

// ImportJobCreated is the data of EventImportJobCreated.
type ImportJobCreated struct {
	KeyLabel   string   `json:"key_label"`
	SPKISHA256 string   `json:"spki_sha256"`
	Expires    string   `json:"expires"`
	OAEPHashes []string `json:"oaep_hashes"`
}

// MigrationStarted is the data of EventMigrationStarted.
type MigrationStarted struct {
	Keys            int `json:"keys"`
	AlreadyMoved    int `json:"already_moved"`
	AlreadyOnTarget int `json:"already_on_target"`
}

// Reconciliation is the data of EventReconciliation.
type Reconciliation struct {
	SourceKeys int      `json:"source_keys"`
	TargetKeys int      `json:"target_keys"`
	Matching   int      `json:"matching"`
	Missing    []string `json:"missing"`
	Different  []string `json:"different"`
}

// CleanupDestroyed is the data of EventCleanupDestroyed.
type CleanupDestroyed struct {
	Label       string   `json:"label"`
	Objects     int      `json:"objects"`
	ConfirmedBy []string `json:"confirmed_by"`
	TokenSerial string   `json:"token_serial,omitempty"`
	Reason      string   `json:"reason,omitempty"`
}

// CleanupRemovedFile is the data of EventCleanupRemovedFile.
type CleanupRemovedFile struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// CleanupDeclined is the data of EventCleanupDeclined: what would have been destroyed, and who
// declined.
type CleanupDeclined struct {
	Labels []string `json:"labels,omitempty"`
	Files  []string `json:"files,omitempty"`
	Label  string   `json:"label,omitempty"`
	By     string   `json:"by"`
	Reason string   `json:"reason"`
}

// Refusal is the data of EventDestructionDeclined.
type Refusal struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// PreflightPassed is the data of EventPreflightPassed: the checks run, the mechanisms found,
// every certificate and CRL linted in its real shape, the least free space of the outputs.
type PreflightPassed struct {
	Checks     []string     `json:"checks"`
	Mechanisms []string     `json:"mechanisms,omitempty"`
	Lints      []LintResult `json:"lints,omitempty"`
	FreeBytes  uint64       `json:"free_bytes"`
}

// LintResult is what zlint said of one certificate or CRL built in its real shape.
type LintResult struct {
	Name     string              `json:"name"`  // the output it becomes, e.g. "intermediate.pem"
	Shape    string              `json:"shape"` // "self-signed", or "issued by <issuer>"
	LintsRun int                 `json:"lints_run"`
	Findings map[string][]string `json:"findings,omitempty"` // by status: info, notice, warn, error, fatal
	Waived   []string            `json:"waived,omitempty"`   // lints the private preset waives (docs/pki.md)
}

// HierarchyState is the data of EventHierarchyState: every key whose state the ceremonies
// before this one recorded (last state per key), and the last CRL number per issuer.
type HierarchyState struct {
	Keys []KeyState `json:"keys"`
	CRLs []CRLCount `json:"crls,omitempty"`
}

// CRLCount is the last CRL number an issuer's CRLs reached, and the ceremony that signed it.
type CRLCount struct {
	Issuer   string `json:"issuer"`
	Number   int64  `json:"number"`
	Ceremony string `json:"ceremony"`
}

// Aborted is the data of EventAborted. Witness names the witness who signed off an abort the
// room decided (not a refusal); earlier records have none.
type Aborted struct {
	Step    string `json:"step"`
	Reason  string `json:"reason"`
	Witness string `json:"witness,omitempty"`
}

// Gate is the data of EventGateConfirmed and EventGateDeclined: what the step was about to
// do, as the witness read it on the screen, on which token.
type Gate struct {
	About       string `json:"about"`
	TokenLabel  string `json:"token_label"`
	TokenSerial string `json:"token_serial"`
	Witness     string `json:"witness"`
	Reason      string `json:"reason,omitempty"` // why a gate was declined
}

// Exception is the data of EventException: while Question was asked, the room wrote down an
// exception to the script with its reason, a witness signed it off, and the ceremony went on
// (the question was asked again).
type Exception struct {
	Question string `json:"question"`
	Reason   string `json:"reason"`
	Witness  string `json:"witness"`
}

// KeyLeft is the data of EventKeyLeft.
type KeyLeft struct {
	Label       string `json:"label"`
	Objects     int    `json:"objects"`
	TokenSerial string `json:"token_serial"`
	DeclinedBy  string `json:"declined_by"`
	Reason      string `json:"reason,omitempty"`
}
