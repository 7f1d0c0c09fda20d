"""Names of the dimensions and labels shared by the models, the estimators and the tables."""

FEATURE_DIM = "feature"
OBS_DIM = "obs"
INTERCEPT_LABEL = "(intercept)"
