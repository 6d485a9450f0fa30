# MARIA on the Taobao display-ad sample (FuxiCTR's tiny_csv: 100 train / 100 test rows): the ad slot `pid` is the
# scenario, `click_sequence` (ad-group ids, `^`-separated) the behaviour sequence, read through the target ad
# group's table. There is no trigger and no context column, so the fields are behaviour, user and item, and the
# target ad plays the trigger (recommendation). The sample is far too small to rank models; it exercises the spec
# on a real schema.
spec taobao_maria

data {
  split    = separate(train="../../shared/data/taobao_ad/train_sample.csv",
                      test="../../shared/data/taobao_ad/test_sample.csv")
  scenario = "pid"
  user     = "userid"
}

scenarios {
  p1007_548 = scenario(value="430548_1007")
  p1007_539 = scenario(value="430539_1007")
}

features {
  userid               = categorical(dim=8, field=user)
  cms_segid            = categorical(dim=4, field=user)
  cms_group_id         = categorical(dim=4, field=user)
  final_gender_code    = categorical(dim=4, field=user)
  age_level            = categorical(dim=4, field=user)
  pvalue_level         = categorical(dim=4, field=user)
  shopping_level       = categorical(dim=4, field=user)
  occupation           = categorical(dim=4, field=user)
  new_user_class_level = categorical(dim=4, field=user)
  adgroup_id           = categorical(dim=8, field=item)
  cate_id              = categorical(dim=8, field=item)
  campaign_id          = categorical(dim=4, field=item)
  customer             = categorical(dim=4, field=item)
  brand                = categorical(dim=4, field=item)
  price                = numeric(normalize=true, field=item)
  clicks               = sequence(column="click_sequence", sep="^", vocab=adgroup_id, dim=8, max_len=10, pool=none,
                                  field=behavior)
}

tasks {
  ctr = binary(label="clk")
}

graph {
  se     = scenario_embed(dim=4)
  u      = embed(all, field=user)
  xi     = embed(all, field=item)
  hb     = trigger_attention(seq_encoder(clicks, layers=1, heads=2), trigger=xi)
  q      = fields(hb, u, xi)
  qs     = feature_scaling(q, user=userid, item=adgroup_id, scenario=se, units=[16], lam=2.0)
  qr     = feature_refine(qs, scenario=se, refiners=[1, 2, 1], ratio=0.5, temperature=0.01)
  qc     = field_correlation(qs, dim=10)
  h      = scenario_moe(concat(qr, qc), scenario=se, experts=4, units=[32])
  tower  = per scenario: mlp(h, units=[16, 8])
  shared = mlp(h, units=[16, 8])
  out    = per task: head(couple(tower, shared, scenario=se))
}

objective {
  loss += 1e-6 * l2(userid, adgroup_id, cate_id, se, hb, qs, qr, qc, h, tower, shared, out)
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
