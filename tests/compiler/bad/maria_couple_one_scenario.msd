# expect: E0342 at 12:33
spec bad
data { source = synthetic(scenarios=1) }
features {
  user_id = categorical(dim=8, field=user)
}
tasks { ctr = binary(label="click") }
graph {
  se  = scenario_embed(dim=4)
  sp  = per scenario: mlp(embed(all), units=[8])
  sh  = mlp(embed(all), units=[8])
  hf  = couple(sp, sh, scenario=se)
  out = per task: head(hf)
}
