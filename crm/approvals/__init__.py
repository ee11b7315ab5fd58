"""The approval engine (审批): one way to ask for, route and decide an approval on any record.

- **Kinds.** Each app registers the kinds of request it raises in its ``AppConfig.ready()``
  (``crm.approvals.kinds.register``): the model, how to describe a record and read its amount and
  department, the role a record names (a control point's stage), what happens on final approval and
  on rejection, and who may see the record. ``crm`` never imports the apps above it.
- **Chains.** An admin configures the steps of each kind (``ApprovalRule``; defaults come from the
  kind): the requester's manager, the head of the record's department, the nearest holder of a role
  up the department tree, or the role the record names; a step may apply only over an amount
  ("over ¥50,000 a director approves too").
- **Routing** (``routing.py``): each step goes to the next person up the department tree who holds
  the role, never the requester (the search goes on above them); nobody on the way: the holders of
  the role anywhere in the company, then the system admins. A person who approved an earlier step
  of the same request is not asked again.
- **Decisions** (``services.decide``): approve, or reject with a comment; only a person asked at
  the waiting step decides, never the requester (also CHECK constraints in the database); two
  approvers deciding the same step at once: the request row is locked and the step is updated
  conditionally, so one decision wins and the other is told it was decided. Every change is in the
  audit log; the approvers and the requester are notified.
- **Reading** (``selectors.py``): the "待我审批" inbox of every kind, its count, the history of a
  record, who decides next.
"""
