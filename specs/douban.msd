# Douban (the Scenario-Wise-Rec sample): ratings in three domains, movie, book and music, turned into 0/1 "like"
# labels. 3,000 rows; the split holds out users by a hash of `user_id`, so test users are unseen in training and
# their ids fall in the OOV row (recorded per scenario in the store's `oov` table).
spec douban

data {
  source   = files("../../shared/data/douban/douban_sample.csv")
  split    = hash(column="user_id", valid=0.1, test=0.2)
  scenario = "domain"
  user     = "user_id"
}

scenarios {
  movie = scenario()
  book  = scenario()
  music = scenario()
}

features {
  user_id      = categorical(dim=16, field=user)
  living_place = categorical(dim=8, min_count=2, field=user)
  item_id      = categorical(dim=16, field=item)
  time_bin     = numeric(buckets=8, dim=4, field=context)
}

tasks {
  like = binary(label="rating")
}

graph {
  x     = embed(all)
  h     = mlp(x, units=[64, 32])
  tower = per scenario: mlp(h, units=[16])
  out   = per task: head(tower)
}

train {
  optimizer = adam(lr=0.003)
  batch     = 256
  epochs    = 3
  seed      = 42
}

evaluate {
  metrics = [auc, gauc, logloss, pcoc]
}
