package routing

// failpoint is where a fault test may kill the process: a binary built with
// the faults tag replaces it (failpoint_faults.go); in every other build it
// does nothing.
var failpoint = func(name string) {}

// Failpoint names.
const (
	// failAfterBooking: a booking is committed and its offers not yet
	// delivered (the dispatcher dies between its commit and its signal, or
	// an interaction's open step between its commit and the end of the
	// workflow task that takes in the offer it booked for itself).
	failAfterBooking = "after-booking"
	// failAfterPresent: an offer is shown (committed) and the process that
	// showed it has not finished the workflow task that did (an
	// interaction's present step, or its open step that presented the
	// offer it booked, dies with its worker).
	failAfterPresent = "after-present"
)
