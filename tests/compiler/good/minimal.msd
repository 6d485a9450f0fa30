# The smallest complete spec: one feature, one task, one head, every setting left at its default.
spec minimal

data { source = synthetic() }
features { user_id = categorical() }
tasks { ctr = binary(label="click") }
graph { out = head(embed(user_id), task=ctr) }
