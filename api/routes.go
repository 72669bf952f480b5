package api

import (
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/desk"
)

// routes lists every route of the API. Each is documented in openapi.yaml;
// TestEveryRouteIsDocumented keeps the two in step.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", s.openapi)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{})))
	s.codecRoutes(e)
	desk.Register(e)

	// Middleware goes on each route rather than on the group, so that Echo
	// answers 404 and 405 for what is not here instead of a group catch-all.
	v1 := &guarded{g: e.Group("/v1"), m: []echo.MiddlewareFunc{s.authenticate, s.idempotent}}
	anyone := allow(auth.RoleAgent, auth.RoleSupervisor, auth.RoleIntegration)

	v1.POST("/cti/events", s.ctiEvent, allow(auth.RoleIntegration))

	supervisor := allow(auth.RoleSupervisor)
	v1.GET("/queues", s.listQueues, anyone)
	v1.GET("/queues/:name", s.getQueue, anyone)
	v1.PUT("/queues/:name", s.putQueue, supervisor)
	v1.PUT("/queues/:name/members/:agent_id", s.setMember(true), supervisor)
	v1.DELETE("/queues/:name/members/:agent_id", s.setMember(false), supervisor)
	v1.GET("/agents", s.listAgents, anyone)
	v1.GET("/agents/:id", s.getAgent, anyone)
	v1.PUT("/agents/:id", s.putAgent, supervisor)
	v1.PUT("/agents/:id/presence", s.setPresence, allow(auth.RoleAgent, auth.RoleSupervisor))
	v1.POST("/agents/:id/end-wrap-up", s.endWrapUp, allow(auth.RoleAgent, auth.RoleSupervisor))
	v1.POST("/agents/:id/work-offline", s.workOffline, allow(auth.RoleAgent, auth.RoleSupervisor))
	v1.GET("/agents/:id/events", s.agentEvents, allow(auth.RoleAgent, auth.RoleSupervisor))
	v1.GET("/events", s.wallEvents, supervisor)

	worker := allow(auth.RoleAgent, auth.RoleSupervisor)
	v1.POST("/interactions", s.createInteraction, worker)
	v1.POST("/interactions/outbound", s.outbound, worker)
	// The actions on an interaction read its record to know who may act;
	// they read it with the token, in one statement.
	acting := &guarded{g: v1.g, m: []echo.MiddlewareFunc{s.authenticateActing, s.idempotent}}
	acting.POST("/interactions/:number/accept", s.decide(true), worker)
	acting.POST("/interactions/:number/reject", s.decide(false), worker)
	acting.POST("/interactions/:number/transfer", s.transferInteraction, worker)
	acting.POST("/interactions/:number/notes", s.addNote, worker)
	acting.POST("/interactions/:number/end", s.endInteraction(false), worker)
	acting.POST("/interactions/:number/close", s.endInteraction(true), worker)
	acting.POST("/interactions/:number/escalate", s.escalateInteraction, worker)
	acting.POST("/interactions/:number/choose-contact", s.chooseChatContact(), worker)
	acting.POST("/interactions/:number/messages", s.sendMessage(), worker)
	acting.POST("/interactions/:number/processes", s.startProcess, worker)

	v1.POST("/companies", s.createCompany, anyone)
	v1.GET("/companies", s.listCompanies, anyone)
	v1.GET("/companies/:id", s.getCompany, anyone)
	v1.PATCH("/companies/:id", s.updateCompany, anyone)

	v1.POST("/contacts", s.createContact, anyone)
	v1.GET("/contacts", s.listContacts, anyone)
	v1.GET("/contacts/:id", s.getContact, anyone)
	v1.PATCH("/contacts/:id", s.updateContact, anyone)
	v1.POST("/contacts/:id/communication-options", s.addCommunicationOption, anyone)
	v1.POST("/contacts/:id/erase", s.eraseContact, supervisor)

	caseWork := allow(auth.RoleAgent, auth.RoleSupervisor)
	v1.GET("/cases", s.listCases, anyone)
	v1.GET("/cases/:number", s.getCase, anyone)
	v1.POST("/cases/:number/status", s.changeCaseStatus, caseWork)

	// Case processes (seed 004): the agent UI's steps, one Update each.
	v1.GET("/processes/:id", s.getProcess, caseWork)
	v1.POST("/processes/:id/choose-contact", s.chooseContact, caseWork)
	v1.POST("/processes/:id/search-contacts", s.searchContacts, caseWork)
	v1.POST("/processes/:id/select-contact", s.selectContact, caseWork)
	v1.POST("/processes/:id/new-contact", s.newContact, caseWork)
	v1.POST("/processes/:id/submit-case", s.submitCase, caseWork)
	v1.POST("/processes/:id/record-consultation", s.recordConsultation, caseWork)
	v1.POST("/processes/:id/finish", s.finishProcess, caseWork)
	v1.POST("/processes/:id/cancel", s.cancelProcess, caseWork)

	// Callbacks (issue 7). The batch is POST /v1/callbacks:batch (the colon
	// escaped for Echo), also served as /v1/callbacks/batch.
	customerSide := allow(auth.RoleIntegration, auth.RoleSupervisor)
	v1.POST("/callbacks", s.createCallback, anyone)
	v1.POST(`/callbacks\:batch`, s.createCallbacks, customerSide)
	v1.POST("/callbacks/batch", s.createCallbacks, customerSide)
	v1.GET("/callbacks", s.listCallbacks, customerSide)
	v1.GET("/callbacks/:id", s.getCallback, anyone)
	v1.POST("/callbacks/:id/accept", s.decideCallback(true), worker)
	v1.POST("/callbacks/:id/reject", s.decideCallback(false), worker)
	v1.POST("/callbacks/:id/dial", s.dialCallback, worker)
	v1.POST("/callbacks/:id/close", s.closeCallback, worker)
	v1.POST("/callbacks/:id/cancel", s.cancelCallback, customerSide)
	v1.POST("/callbacks/:id/reschedule", s.rescheduleCallback, customerSide)

	v1.GET("/interactions", s.listInteractions, anyone)
	v1.GET("/interactions/:number", s.getInteraction, anyone)
	v1.GET("/incidents", s.listEscalations(incidents), anyone)
	v1.GET("/incidents/:number", s.getEscalationDetail(incidents), anyone)
	v1.PATCH("/incidents/:number", s.changeEscalation(incidents), worker)
	v1.POST("/incidents/:number/notes", s.addEscalationNote(incidents), worker)
	v1.GET("/requests", s.listEscalations(requests), anyone)
	v1.GET("/requests/:number", s.getEscalationDetail(requests), anyone)
	v1.PATCH("/requests/:number", s.changeEscalation(requests), worker)
	v1.POST("/requests/:number/notes", s.addEscalationNote(requests), worker)
}

// guarded registers routes with authentication and idempotency first, then
// the route's own middleware (its role check).
type guarded struct {
	g *echo.Group
	m []echo.MiddlewareFunc
}

func (v *guarded) with(m []echo.MiddlewareFunc) []echo.MiddlewareFunc {
	return append(append([]echo.MiddlewareFunc{}, v.m...), m...)
}

func (v *guarded) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	v.g.GET(path, h, v.with(m)...)
}

func (v *guarded) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	v.g.POST(path, h, v.with(m)...)
}

func (v *guarded) PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	v.g.PUT(path, h, v.with(m)...)
}

func (v *guarded) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	v.g.PATCH(path, h, v.with(m)...)
}

func (v *guarded) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	v.g.DELETE(path, h, v.with(m)...)
}
