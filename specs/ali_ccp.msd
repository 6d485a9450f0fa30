# Ali-CCP (Taobao display ads; the Scenario-Wise-Rec sample): three scenarios, click and purchase, ESMM style.
# CTR is learned on every impression, CVR only through CTCVR = CTR × CVR over the entire space, and CVR is
# evaluated on clicked rows. The sample is tiny (100 / 50 / 50 rows; scenario 3 has no click in train or val),
# so several slices have one class only: their AUC is NULL and a warning is recorded in the store.
spec ali_ccp

data {
  split    = separate(train="../../shared/data/ali-ccp/scenario-wise-rec/ali_ccp_train_sample.csv",
                      valid="../../shared/data/ali-ccp/scenario-wise-rec/ali_ccp_val_sample.csv",
                      test="../../shared/data/ali-ccp/scenario-wise-rec/ali_ccp_test_sample.csv")
  scenario = "301"
  user     = "101"        # field 101 is the user id (a single user in this sample: GAUC = AUC)
}

scenarios {
  s1 = scenario(value=1)
  s2 = scenario(value=2)
  s3 = scenario(value=3)
}

features {
  # user profile fields
  user_id    = categorical(dim=8, column="101", field=user)
  u121       = categorical(dim=4, column="121", field=user)
  u122       = categorical(dim=4, column="122", field=user)
  u124       = categorical(dim=4, column="124", field=user)
  u125       = categorical(dim=4, column="125", field=user)
  u126       = categorical(dim=4, column="126", field=user)
  u127       = categorical(dim=4, column="127", field=user)
  u128       = categorical(dim=4, column="128", field=user)
  u129       = categorical(dim=4, column="129", field=user)
  u109_14    = categorical(dim=4, column="109_14", field=user)
  u110_14    = categorical(dim=4, column="110_14", field=user)
  u127_14    = categorical(dim=4, column="127_14", field=user)
  u150_14    = categorical(dim=4, column="150_14", field=user)
  # item fields: item id, category, shop, intention node, brand
  item_id    = categorical(dim=8, column="205", field=item)
  category   = categorical(dim=8, column="206", field=item)
  shop       = categorical(dim=8, column="207", field=item)
  intention  = categorical(dim=4, column="210", field=item)
  brand      = categorical(dim=8, column="216", field=item)
  # user × item combination fields, and their dense values
  c508       = categorical(dim=4, column="508", field=context)
  c509       = categorical(dim=4, column="509", field=context)
  c702       = categorical(dim=4, column="702", field=context)
  c853       = categorical(dim=4, column="853", field=context)
  d109_14    = numeric(column="D109_14", normalize=true, field=user)
  d110_14    = numeric(column="D110_14", normalize=true, field=user)
  d127_14    = numeric(column="D127_14", normalize=true, field=user)
  d150_14    = numeric(column="D150_14", normalize=true, field=user)
  d508       = numeric(column="D508", normalize=true, field=context)
  d509       = numeric(column="D509", normalize=true, field=context)
  d702       = numeric(column="D702", normalize=true, field=context)
  d853       = numeric(column="D853", normalize=true, field=context)
}

tasks {
  ctr   = binary(label="click")
  cvr   = binary(label="purchase", within=ctr)
  ctcvr = product(ctr, cvr)
}

graph {
  x     = embed(all)
  h     = mlp(x, units=[64, 32])
  tower = per scenario: mlp(h, units=[16])
  out   = per task: head(tower)
}

objective {
  loss = bce(ctr) + bce(ctcvr)
}

train {
  optimizer = adam(lr=0.005)
  batch     = 32
  epochs    = 3
  seed      = 42
}

evaluate {
  metrics = [auc, gauc, logloss, pcoc]
}
