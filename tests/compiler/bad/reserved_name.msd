# expect: E0016 at 4:12
spec reserved
data { source = synthetic() }
features { scenario = categorical()  item_id = categorical() }
tasks { ctr = binary(label="click") }
graph { y = per task: head(embed(all)) }
