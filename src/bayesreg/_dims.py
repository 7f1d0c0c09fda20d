"""Names of the dimensions and labels shared by the models, the estimators and the tables."""

FEATURE_DIM = "feature"
CLASS_DIM = "class"  # the classes of a multinomial model (coef is class × feature)
OBS_DIM = "obs"
INTERCEPT_LABEL = "(intercept)"
