package transcript

// The token ceremonies' events (ceremony/token*.go): a token initialised, a PIN changed, a
// token decommissioned. No record ever holds a PIN: they say who set or changed which PIN,
// when, and how it was entered.
const (
	EventTokenInitialised     = "token.initialised"
	EventPINChanged           = "token.pin-changed"
	EventTokenObjectsListed   = "token.objects-listed"
	EventTokenObjectDestroyed = "token.object-destroyed"
	EventTokenDecommissioned  = "token.decommissioned"
)

// tokenEvents join Events (schema.go) when the package is initialised, sorted with the rest.
var tokenEvents = []EventSpec{
	spec[TokenInitialised](EventTokenInitialised, "a new token initialised: its identity, mechanisms and empty object list; who set each PIN (never the PIN)"),
	spec[PINChanged](EventPINChanged, "a token's user or Security Officer PIN changed by its holder (never the PIN)"),
	spec[TokenObjects](EventTokenObjectsListed, "every object on a token to decommission, identified without a secret"),
	spec[TokenObjectDestroyed](EventTokenObjectDestroyed, "one object on a token to decommission destroyed; last_copy if no other copy of its key is recorded"),
	spec[TokenDecommissioned](EventTokenDecommissioned, "a token re-initialised and shown empty, as a user and in a public session"),
}

func init() { Events = sortedEvents(append(Events, tokenEvents...)...) }

// PIN entry methods, as token records name them.
const (
	// PINEnteredByHolder: typed by its holder at a masked prompt (a new PIN twice).
	PINEnteredByHolder = "entered by its holder at a masked prompt"
	// PINFromRehearsalStore: a rehearsal token's PIN, kept in Keyrite's rehearsal store (a
	// new one random); a rehearsal token guards no real key.
	PINFromRehearsalStore = "rehearsal token: kept in the rehearsal store"
)

// TokenInitialised is the data of EventTokenInitialised.
type TokenInitialised struct {
	Token            TokenInfo `json:"token"`
	Mechanisms       int       `json:"mechanisms"`
	MechanismsSHA256 string    `json:"mechanisms_sha256"` // of the sorted "0x%08x\n" list
	LoginRequired    bool      `json:"login_required"`
	SOPINHolder      string    `json:"so_pin_holder"`
	UserPINHolder    string    `json:"user_pin_holder"`
	PINEntry         string    `json:"pin_entry"`
	Objects          []Object  `json:"objects"` // as the new user sees them: none
}

// PINChanged is the data of EventPINChanged.
type PINChanged struct {
	TokenLabel  string `json:"token_label"`
	TokenSerial string `json:"token_serial"`
	Role        string `json:"role"` // "user" or "Security Officer"
	Holder      string `json:"holder"`
	PINEntry    string `json:"pin_entry"`
	// Verified: a login with the new PIN succeeded after the change.
	Verified bool `json:"verified"`
}

// TokenObject is one object on a token, identified without a secret and without its handle.
type TokenObject struct {
	Class      string `json:"class"`
	KeyType    string `json:"key_type,omitempty"`
	Label      string `json:"label"`
	ID         string `json:"id,omitempty"`
	SPKISHA256 string `json:"spki_sha256,omitempty"` // a key pair's public key
	KCV        string `json:"kcv,omitempty"`         // a secret key's check value, as the token gives it
	KCVMethod  string `json:"kcv_method,omitempty"`
	Error      string `json:"error,omitempty"`
}

// TokenObjects is the data of EventTokenObjectsListed.
type TokenObjects struct {
	TokenLabel  string        `json:"token_label"`
	TokenSerial string        `json:"token_serial"`
	Objects     []TokenObject `json:"objects"`
	// AcceptedLoss names the keys whose only recorded copy is on this token, destroyed with
	// it because the script accepts their loss, and why.
	AcceptedLoss       []string `json:"accepted_loss,omitempty"`
	AcceptedLossReason string   `json:"accepted_loss_reason,omitempty"`
	// NotInEvidence names the key pairs on the token no ceremony in the evidence read
	// recorded (made outside Keyrite, or with their evidence elsewhere).
	NotInEvidence []string `json:"not_in_evidence,omitempty"`
}

// TokenObjectDestroyed is the data of EventTokenObjectDestroyed.
type TokenObjectDestroyed struct {
	TokenObject
	TokenSerial string `json:"token_serial"`
	Reason      string `json:"reason"`
	ConfirmedBy string `json:"confirmed_by"`
	// LastCopy: the evidence records no other copy of this key; it is destroyed with it.
	LastCopy bool `json:"last_copy,omitempty"`
}

// TokenDecommissioned is the data of EventTokenDecommissioned.
type TokenDecommissioned struct {
	Token            TokenInfo `json:"token"`
	Reason           string    `json:"reason"`
	ObjectsDestroyed int       `json:"objects_destroyed"`
	UserObjects      int       `json:"user_objects"`   // objects a user login sees after
	PublicObjects    int       `json:"public_objects"` // objects a public session sees after
	SOPINHolder      string    `json:"so_pin_holder"`
	UserPINHolder    string    `json:"user_pin_holder"`
	PINEntry         string    `json:"pin_entry"`
}
