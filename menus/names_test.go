package menus

// testNames are the names the controller hands in (callflow.MenuNames).
var testNames = Names{
	Steps: []string{"identify_caller", "notices", "outage_notice", "open_ticket", "urge_open_ticket", "billing_balance",
		"billing_lookup", "senior_check", "elderly_service", "english_service"},
	Queues:  []string{"fault", "billing", "complaint", "general", "callback", "senior"},
	Tickets: []string{"fault", "complaint", "report", "consultation", "service", "opinion", "suggestion", "praise"},
}
