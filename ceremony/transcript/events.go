package transcript

// Events with a meaning the verifier relies on. Ceremonies add their own events freely; these
// are the ones every transcript shares.
const (
	// EventOpened is the first record of every transcript; its data is an Opening.
	EventOpened = "ceremony.opened"
	// EventStepStarted, EventStepCompleted and EventStepFailed bracket each scripted step; a
	// step started but neither completed nor failed was in flight when the ceremony stopped.
	EventStepStarted   = "step.started"
	EventStepCompleted = "step.completed"
	EventStepFailed    = "step.failed"
	// EventOutput names a file written into the ceremony folder; its data is an Output.
	EventOutput = "output.written"
	// EventSuperseded moves an output aside before the step that wrote it runs again (after
	// a failure and a resume); its data is a Superseded. The verifier then checks the file
	// at its new place.
	EventSuperseded = "output.superseded"
	// EventSigner introduces the key that will seal this transcript; its data is a Signer.
	EventSigner = "transcript.signer"
	// EventResumed starts a new process on an unsealed transcript; its data is a Resumption.
	EventResumed = "ceremony.resumed"
	// EventTornDiscarded records the bytes of an incomplete last record that were cut off
	// before a resume; its data is a Discarded.
	EventTornDiscarded = "transcript.torn-record-discarded"
	// EventRootRotated says a ceremony introduced a new root and its transcript signer; its
	// data is a Rotation. A ceremony continuing it may be signed in the new hierarchy.
	EventRootRotated = "root.rotated"
	// EventClosed is the last record before the seal.
	EventClosed = "ceremony.closed"
)

// Opening is the data of the first record.
type Opening struct {
	CeremonyID     string    `json:"ceremony_id"`
	Type           string    `json:"type"`
	Keyrite        Build     `json:"keyrite"`
	ScriptFile     string    `json:"script_file"`
	ScriptSHA256   string    `json:"script_sha256"`
	ModulePath     string    `json:"module_path,omitempty"`
	ModuleSHA256   string    `json:"module_sha256,omitempty"`
	Previous       *Previous `json:"previous,omitempty"`
	Organization   string    `json:"organization,omitempty"`
	Location       string    `json:"location,omitempty"`
	RehearsalToken bool      `json:"rehearsal,omitempty"`
	// Log is the evidence root's ceremony log as the ceremony opened (ceremony/ledger): absent
	// when the ceremony folder is not in an evidence root.
	Log *LogState `json:"log,omitempty"`
}

// LogState is a ceremony log's origin, size and RFC 6962 root hash (standard base64).
type LogState struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   string `json:"root"`
}

// Build identifies the Keyrite binary that wrote a transcript.
type Build struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"` // VCS revision, "+dirty" when modified
	GoSHA256 string `json:"binary_sha256,omitempty"`
	Go       string `json:"go"`
}

// Previous links a ceremony to the sealed one before it on the same key hierarchy.
type Previous struct {
	CeremonyID string `json:"ceremony_id"`
	Checkpoint string `json:"checkpoint"` // the previous seal, verbatim
}

// Output is the data of an EventOutput record.
type Output struct {
	File   string `json:"file"` // relative to the ceremony folder, forward slashes
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Superseded is the data of an EventSuperseded record.
type Superseded struct {
	File    string `json:"file"`
	MovedTo string `json:"moved_to"`
}

// Signer is the data of an EventSigner record.
type Signer struct {
	Name        string `json:"name"`        // the name on the seal's signature line
	Certificate string `json:"certificate"` // PEM
	Issuer      string `json:"issuer_spki_sha256"`
	// OneTime marks a key made only to seal an aborted ceremony that had no transcript signer
	// yet: its self-signed certificate is its own root. It proves the record whole, not who
	// sealed it; the fingerprint read aloud in the room and written down ties it to the room.
	OneTime bool `json:"one_time,omitempty"`
}

// Resumption is the data of an EventResumed record.
type Resumption struct {
	InFlightStep string `json:"in_flight_step,omitempty"`
	Decision     string `json:"decision"`
}

// Discarded is the data of an EventTornDiscarded record.
type Discarded struct {
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Rotation is the data of an EventRootRotated record.
type Rotation struct {
	OldRootSPKI    string `json:"old_root_spki_sha256"`
	NewRootSPKI    string `json:"new_root_spki_sha256"`
	NewRootKey     string `json:"new_root_key"`
	NewSigner      string `json:"new_transcript_signer"`
	NewSignerChain string `json:"new_transcript_signer_chain"` // PEM: the signer, then the new root
}
