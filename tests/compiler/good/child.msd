# Extends `full.msd`: replaces a node in place, removes a feature and a stage, appends objective terms,
# adds a section and a stage, and overrides a nested stage setting.
spec child extends "full.msd"

features {
  age = none
  item_id = categorical(dim=16, min_count=5, field=item)
}

graph {
  m = moe(h, experts=6, units=[32], over=task)
}

objective {
  loss += 0.01 * l2(m)
}

train {
  epochs = 5
  stage finetune { epochs = 2 }
  stage extra { epochs = 1 }
}
