// Package killtest holds the crash tests of the ceremony engine (it has no code of its own):
// real ceremonies on real SoftHSM2, run in a child process of the test binary that is killed
// with SIGKILL at every record boundary (and at random moments inside steps, while the report
// and bundle are written, and again while it is being resumed), then resumed unaided, then
// checked: the ceremony verifies,
// its bundle verifies, the token holds exactly the objects an uninterrupted run leaves and
// the transcript names, and no HSM operation the transcript records was done twice.
//
//	go test ./ceremony/killtest/                          every boundary of the quorum root
//	                                                      ceremony, a sample of the migration's
//	go test ./ceremony/killtest/ -run . -kill=all         every boundary of both
//	go test -short ./ceremony/killtest/                   a small sample of each
package killtest
