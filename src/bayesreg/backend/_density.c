/*
 * The hand-written log densities of bayesreg.backend.fixed_density, compiled when bayesreg is
 * installed (a C extension), so that no fit waits on a compiler: nutpie calls these functions
 * through their addresses, which the module exports as integers.
 *
 * The layout of the packed buffer and header is written by fixed_density.pack (the enums below
 * mirror its constants), and tests/test_fixed_density.py checks every density, gradient and
 * stored variable here against PyMC's own on every combination of options.
 *
 *   logp(dim, x, grad, logp, user_data) -> 0, 3 (a gradient entry not finite), 4 (logp not
 *                                          finite) or 5 (out of memory): nutpie's codes
 *   expand(dim, n_expanded, x, out, user_data) -> 0 or 5
 *   hessian(dim, x, hess, user_data) -> 0, 5 or 6 (not written for a free prior sd): for the MAP
 *
 * user_data is int64 [address of the buffer, its length, address of the header, its length].
 *
 * beta is the location vector: the coefficients (P of them; for K classes the K x q matrix W, row by
 * row, so P = K q), then the intercept on centred X (one, or the K - 1 contrasts of K classes).
 * x is z (beta = loc + L z), then log sigma of a free noise sd; with a free prior sd (the
 * hierarchical linear model) its log comes first: x = (log tau, z, [log sigma]).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The header (ints) and the scalars (after loc, L, mean, l1, l2 and x_mean in buf). */
enum { FAMILY, P, M, ROWS, FIT_INTERCEPT, NOISE, INTERCEPT_PRIOR, N_EXPANDED, CLASSES, FREE_PRIOR_SD, HEADER };
enum { CONST, INT_MU, INT_SD, NOISE_VALUE, NOISE_CONST, NOISE_NU, Y_MEAN, PRIOR_SD_SCALE, L1_SMOOTHING, N_SCALARS };
enum { GAUSSIAN = 0, BERNOULLI = 1, POISSON = 2, BINOMIAL = 3, MULTINOMIAL = 4 };
enum { NOISE_KNOWN, NOISE_HALFNORMAL, NOISE_HALFCAUCHY, NOISE_HALFSTUDENTT, NOISE_EXPONENTIAL };
enum { OK = 0, GRAD_NOT_FINITE = 3, LOGP_NOT_FINITE = 4, NO_MEMORY = 5, NOT_COVERED = 6 };

#define LOG_2PI 1.83787706640934548356
#define BLOCK 256 /* rows per block: the block's eta, exp and log1p stay in the L1 cache */

/* The row loops of the row densities are compiled for three x86-64 levels, picked at load time
 * (AVX-512, AVX2 + FMA, SSE2): 4-8 doubles per instruction where the CPU has them. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(__clang__)
#define CLONED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONED
#endif

static const double *buffer_of(const void *user_data) {
    const int64_t *meta = (const int64_t *)user_data;
    return (const double *)(uintptr_t)meta[0];
}

static const int64_t *header_of(const void *user_data) {
    const int64_t *meta = (const int64_t *)user_data;
    return (const int64_t *)(uintptr_t)meta[2];
}

/* beta = loc + L z */
static inline void location(const double *x, const double *buf, int64_t m, double *beta) {
    const double *L = buf + m;
    for (int64_t i = 0; i < m; i++) {
        double acc = buf[i];
#pragma omp simd reduction(+ : acc)
        for (int64_t j = 0; j < m; j++) acc += L[i * m + j] * x[j];
        beta[i] = acc;
    }
}

/* grad_z = L^T grad_beta */
static inline void pull_back(const double *grad_beta, const double *buf, int64_t m, double *grad) {
    const double *L = buf + m;
    for (int64_t j = 0; j < m; j++) grad[j] = 0.0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < m; j++) grad[j] += L[i * m + j] * grad_beta[i];
}

/* Coefficient prior c - sum l1 |beta - mu| - 1/2 sum l2 (beta - mu)^2 and the intercept's normal
 * prior, at beta: their log density, their gradient added to grad_beta.
 *
 * The log density is always exact. With s = s[L1_SMOOTHING] > 0 (the sampler's densities: see
 * fixed_density.L1_SMOOTHING for why NUTS stays exact), the gradient of the L1 term is that of
 * -l1 sqrt(d^2 + delta^2), d = beta - mu, delta = s / l1, a surrogate within s of -l1 |d|; with
 * s = 0 (the MAP's) it is the subgradient -l1 sign(d). */
static double prior(const double *beta, const double *buf, const int64_t *ints, double *grad_beta) {
    const int64_t p = ints[P], m = ints[M];
    const double *mean = buf + m + m * m, *l1 = mean + p, *l2 = mean + 2 * p, *x_mean = mean + 3 * p;
    const double *s = mean + 4 * p;
    const double smoothing = s[L1_SMOOTHING];
    double lp = s[CONST];
    for (int64_t j = 0; j < p; j++) {
        const double d = beta[j] - mean[j];
        lp -= l1[j] * fabs(d) + 0.5 * l2[j] * d * d;
        grad_beta[j] -= l2[j] * d;
        if (l1[j] > 0.0 && smoothing > 0.0) {
            const double delta = smoothing / l1[j], r = sqrt(d * d + delta * delta);
            grad_beta[j] -= r > 0.0 ? l1[j] * d / r : 0.0; /* r = 0 only if delta underflowed and d = 0 */
        } else {
            grad_beta[j] -= l1[j] * (d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0));
        }
    }
    if (ints[INTERCEPT_PRIOR]) {
        double intercept = beta[p];
        for (int64_t j = 0; j < p; j++) intercept -= x_mean[j] * beta[j];
        const double u = (intercept - s[INT_MU]) / s[INT_SD];
        lp -= 0.5 * u * u + log(s[INT_SD]) + 0.5 * LOG_2PI;
        const double d_intercept = -u / s[INT_SD];
        grad_beta[p] += d_intercept;
        for (int64_t j = 0; j < p; j++) grad_beta[j] -= d_intercept * x_mean[j];
    }
    return lp;
}

/* The hierarchical prior: beta_j ~ N(mu_j, tau^2) with tau ~ HalfNormal(scale), at log tau (with
 * the log transform's Jacobian); the constant (-p/2 log 2 pi and the half-normal's) is packed. Its
 * gradient is added to grad_beta, and its derivative in log tau returned in d_log_tau. */
static double free_sd_prior(const double *beta, const double *buf, const int64_t *ints, double log_tau,
                            double *grad_beta, double *d_log_tau) {
    const int64_t p = ints[P], m = ints[M];
    const double *mean = buf + m + m * m, *s = mean + 4 * p;
    const double tau = exp(log_tau), precision = 1.0 / (tau * tau), r = tau / s[PRIOR_SD_SCALE];
    double squares = 0.0;
    for (int64_t j = 0; j < p; j++) {
        const double d = beta[j] - mean[j];
        squares += d * d;
        grad_beta[j] -= d * precision;
    }
    *d_log_tau = -(double)p + squares * precision - r * r + 1.0;
    return s[CONST] - (double)p * log_tau - 0.5 * squares * precision - 0.5 * r * r + log_tau;
}

/* The noise sd's prior at sigma: its log density (the constant is packed), and its first and
 * second derivatives in log sigma. */
static double noise_prior(int64_t code, double sigma, const double *s, double *d1, double *d2) {
    const double scale = s[NOISE_VALUE], nu = s[NOISE_NU];
    double r2, t;
    switch (code) {
    case NOISE_HALFNORMAL:
        r2 = (sigma / scale) * (sigma / scale);
        *d1 = -r2;
        *d2 = -2.0 * r2;
        return s[NOISE_CONST] - 0.5 * r2;
    case NOISE_HALFCAUCHY:
        r2 = (sigma / scale) * (sigma / scale);
        *d1 = -2.0 * r2 / (1.0 + r2);
        *d2 = -4.0 * r2 / ((1.0 + r2) * (1.0 + r2));
        return s[NOISE_CONST] - log1p(r2);
    case NOISE_HALFSTUDENTT:
        t = (sigma / scale) * (sigma / scale) / nu;
        *d1 = -(nu + 1.0) * t / (1.0 + t);
        *d2 = -2.0 * (nu + 1.0) * t / ((1.0 + t) * (1.0 + t));
        return s[NOISE_CONST] - 0.5 * (nu + 1.0) * log1p(t);
    case NOISE_EXPONENTIAL: /* mean scale */
        *d1 = *d2 = -sigma / scale;
        return s[NOISE_CONST] - sigma / scale;
    default: /* HalfFlat */
        *d1 = *d2 = 0.0;
        return 0.0;
    }
}

/* Gaussian likelihood on sufficient statistics, as build_linear_model writes it:
 * ||qty - R beta||^2 + n (ybar - b)^2, with a known noise sd or log sigma as the last coordinate. */
static int gaussian_logp(const double *x, const double *buf, const int64_t *ints, double *grad, double *out) {
    const int64_t p = ints[P], m = ints[M], k = ints[ROWS], noise = ints[NOISE], free_sd = ints[FREE_PRIOR_SD];
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    const double *s = buf + m + m * m + 4 * p;
    const double *R = s + N_SCALARS, *qty = R + k * p;
    const double n = qty[k];
    double *work = malloc(sizeof(double) * (size_t)(2 * m + k));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *grad_beta = work + m, *resid = work + 2 * m;
    const double *z = x + free_sd;
    location(z, buf, m, beta);
    const double b = fit_intercept ? beta[p] : 0.0;
    double rss = 0.0;
    for (int64_t r = 0; r < k; r++) {
        double acc = qty[r];
        for (int64_t j = 0; j < p; j++) acc -= R[r * p + j] * beta[j];
        resid[r] = acc;
        rss += acc * acc;
    }
    const double y_gap = s[Y_MEAN] - b;
    rss += n * y_gap * y_gap;
    double sigma, log_sigma;
    if (noise == NOISE_KNOWN) {
        sigma = s[NOISE_VALUE];
        log_sigma = log(sigma);
    } else {
        log_sigma = z[m];
        sigma = exp(log_sigma);
    }
    const double precision = 1.0 / (sigma * sigma);
    for (int64_t j = 0; j < m; j++) grad_beta[j] = 0.0;
    for (int64_t j = 0; j < p; j++) {
        double acc = 0.0;
        for (int64_t r = 0; r < k; r++) acc += R[r * p + j] * resid[r];
        grad_beta[j] = acc * precision;
    }
    if (fit_intercept) grad_beta[p] = n * y_gap * precision;
    double lp = -n * log_sigma - 0.5 * n * LOG_2PI - 0.5 * rss * precision;
    if (free_sd)
        lp += free_sd_prior(beta, buf, ints, x[0], grad_beta, grad);
    else
        lp += prior(beta, buf, ints, grad_beta);
    pull_back(grad_beta, buf, m, grad + free_sd);
    if (noise != NOISE_KNOWN) {
        double d_prior, d2_prior;
        lp += noise_prior(noise, sigma, s, &d_prior, &d2_prior) + log_sigma; /* + the log transform's Jacobian */
        grad[free_sd + m] = -n + rss * precision + d_prior + 1.0;
    }
    free(work);
    *out = lp;
    return OK;
}

/* exp and log1p written so that the compiler vectorises them (libm takes about 20 ns a value,
 * half of a 10^5-row gradient; these take 1-2 ns). Both are checked against numpy to 2 ulp. */
#define LN2_HI 6.93147180369123816490e-01 /* ln 2 split in two: k ln 2 is exact for |k| < 2^20 */
#define LN2_LO 1.90821492927058770002e-10
#define INV_LN2 1.44269504088896338700e+00

#define LOG_DBL_MAX 709.782712893383973096 /* exp overflows above it */

/* out[:n] = exp(x[:n]); values below -708 give exp(-708) (under 1e-307), above log(DBL_MAX) inf.
 * k = round(x / ln 2) comes from adding 1.5 * 2^52, which leaves k in the low bits of the sum: no
 * float-to-integer conversion, which SSE2 and AVX2 cannot vectorise. */
static inline void exp_vector(const double *x, double *out, int64_t n) {
    const double shifter = 0x1.8p52;
    const int64_t shifter_bits = 0x4338000000000000; /* the bits of 1.5 * 2^52 */
    for (int64_t i = 0; i < n; i++) {
        const double xi = x[i] < -708.0 ? -708.0 : (x[i] > LOG_DBL_MAX ? LOG_DBL_MAX : x[i]);
        const double shifted = xi * INV_LN2 + shifter;
        const double k = shifted - shifter; /* -1021 <= k <= 1024 */
        const double r = (xi - k * LN2_HI) - k * LN2_LO; /* |r| <= ln 2 / 2 */
        /* Taylor series of exp(r) to r^13 / 13!: the remainder is below 1e-17 on |r| <= 0.35 */
        double q = 1.0 / 479001600.0;
        q = 1.0 / 39916800.0 + r * q;
        q = 1.0 / 3628800.0 + r * q;
        q = 1.0 / 362880.0 + r * q;
        q = 1.0 / 40320.0 + r * q;
        q = 1.0 / 5040.0 + r * q;
        q = 1.0 / 720.0 + r * q;
        q = 1.0 / 120.0 + r * q;
        q = 1.0 / 24.0 + r * q;
        q = 1.0 / 6.0 + r * q;
        q = 0.5 + r * q;
        q = 1.0 + r * q;
        int64_t k_bits;
        memcpy(&k_bits, &shifted, sizeof k_bits);
        /* 2^k as 2 * 2^(k-1): both factors are normal doubles for every k above, and doubling is exact */
        const int64_t bits = (k_bits - shifter_bits + 1022) << 52;
        double half_factor;
        memcpy(&half_factor, &bits, sizeof half_factor);
        const double value = (1.0 + r * q) * half_factor * 2.0;
        out[i] = x[i] > LOG_DBL_MAX ? HUGE_VAL : value;
    }
}

/* out[:n] = log1p(e[:n]) for 0 <= e <= 1, as 2 atanh(u) with u = e / (2 + e) <= 1/3 */
static inline void log1p_unit(const double *e, double *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double u = e[i] / (2.0 + e[i]), u2 = u * u;
        /* atanh(u) / u = sum u^2k / (2k + 1), k = 0..18 (the terms after are < 1e-19), in Horner
         * form written out: the constants fold and the loop over i vectorises */
        double s = 1.0 / 37.0;
        s = 1.0 / 35.0 + u2 * s;
        s = 1.0 / 33.0 + u2 * s;
        s = 1.0 / 31.0 + u2 * s;
        s = 1.0 / 29.0 + u2 * s;
        s = 1.0 / 27.0 + u2 * s;
        s = 1.0 / 25.0 + u2 * s;
        s = 1.0 / 23.0 + u2 * s;
        s = 1.0 / 21.0 + u2 * s;
        s = 1.0 / 19.0 + u2 * s;
        s = 1.0 / 17.0 + u2 * s;
        s = 1.0 / 15.0 + u2 * s;
        s = 1.0 / 13.0 + u2 * s;
        s = 1.0 / 11.0 + u2 * s;
        s = 1.0 / 9.0 + u2 * s;
        s = 1.0 / 7.0 + u2 * s;
        s = 1.0 / 5.0 + u2 * s;
        s = 1.0 / 3.0 + u2 * s;
        s = 1.0 / 1.0 + u2 * s;
        out[i] = 2.0 * u * s;
    }
}

/* --- the row densities (Bernoulli, binomial, Poisson): blocks of rows, each pass over one in cache --- */

/* X of the row densities (Bernoulli, binomial, Poisson) is packed in blocks of BLOCK rows (the last
 * block holds the rest), each block column by column: column j of the block starting at row `start`
 * is Xb[j * size : (j + 1) * size] with Xb = X + start * p. Both passes over a block then run along
 * contiguous columns, vectorised over rows, with no short per-row sums: a Bernoulli gradient on 569 x 30
 * rows took 5.2 us against 9.4 us row by row here (benchmarks/README.md). fixed_density.pack writes
 * it; the multinomial's X is row by row. */

/* eta[i] = b + offset[i] + X_i . beta over a block of rows (offset NULL: none); four columns per
 * pass, so that eta is loaded and stored once for four of them */
static inline void block_eta(const double *Xb, const double *beta, double b, const double *offset, int64_t size,
                             int64_t p, double *eta) {
    for (int64_t i = 0; i < size; i++) eta[i] = offset == NULL ? b : b + offset[i];
    int64_t j = 0;
    for (; j + 4 <= p; j += 4) {
        const double *c0 = Xb + j * size, *c1 = c0 + size, *c2 = c1 + size, *c3 = c2 + size;
        const double b0 = beta[j], b1 = beta[j + 1], b2 = beta[j + 2], b3 = beta[j + 3];
        for (int64_t i = 0; i < size; i++) eta[i] += (c0[i] * b0 + c1[i] * b1) + (c2[i] * b2 + c3[i] * b3);
    }
    for (; j < p; j++) {
        const double *col = Xb + j * size, bj = beta[j];
        for (int64_t i = 0; i < size; i++) eta[i] += col[i] * bj;
    }
}

/* sum_i a[i] over a block's rows */
static inline double block_sum(const double *a, int64_t size) {
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < size; i++) acc += a[i];
    return acc;
}

/* sum_i a[i] c[i] over a block's rows */
static inline double block_dot(const double *a, const double *c, int64_t size) {
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < size; i++) acc += a[i] * c[i];
    return acc;
}

/* grad_beta += sum_i resid_i x_i over a block of rows, x_i = (X_i, 1 with an intercept); four
 * columns per pass: four independent sums keep the FMA units busy, and resid is read once for them */
static inline void add_block_gradient(const double *Xb, const double *resid, double resid_sum, int64_t size,
                                      int64_t p, int fit_intercept, double *grad_beta) {
    int64_t j = 0;
    for (; j + 4 <= p; j += 4) {
        const double *c0 = Xb + j * size, *c1 = c0 + size, *c2 = c1 + size, *c3 = c2 + size;
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
        for (int64_t i = 0; i < size; i++) {
            a0 += c0[i] * resid[i];
            a1 += c1[i] * resid[i];
            a2 += c2[i] * resid[i];
            a3 += c3[i] * resid[i];
        }
        grad_beta[j] += a0;
        grad_beta[j + 1] += a1;
        grad_beta[j + 2] += a2;
        grad_beta[j + 3] += a3;
    }
    for (; j < p; j++) grad_beta[j] += block_dot(Xb + j * size, resid, size);
    if (fit_intercept) grad_beta[p] += resid_sum;
}

/* The end of a row density: add the priors, pull the gradient back to z, free the work space. */
static int finish_rows(double lp, const double *beta, const double *buf, const int64_t *ints, double *grad_beta,
                       double *grad, double *work, double *out) {
    lp += prior(beta, buf, ints, grad_beta);
    pull_back(grad_beta, buf, ints[M], grad);
    free(work);
    *out = lp;
    return OK;
}

/* Bernoulli-logit likelihood sum w_i log p(y_i | b + X_i beta) on centred rows, in blocks of rows.
 * With t = eta for y = 0 and t = -eta for y = 1, each row adds -w log(1 + exp(t)) and its residual
 * is -+ w sigmoid(t); with e = exp(-|eta|), log(1 + exp(t)) = max(t, 0) + log1p(e) and sigmoid(t)
 * is 1/(1 + e) or e/(1 + e): one exp and one log1p per row, no cancellation, no branch on y. */
CLONED static int bernoulli_logp(const double *x, const double *buf, const int64_t *ints, double *grad,
                                 double *out) {
    const int64_t p = ints[P], m = ints[M], n = ints[ROWS];
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    const double *X = buf + m + m * m + 4 * p + N_SCALARS, *y = X + n * p, *w = y + n;
    double *work = malloc(sizeof(double) * (size_t)(2 * m));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *grad_beta = work + m;
    double eta[BLOCK], minus_abs_eta[BLOCK], t[BLOCK], e[BLOCK], log1p_e[BLOCK], resid[BLOCK];
    location(x, buf, m, beta);
    const double b = fit_intercept ? beta[p] : 0.0;
    for (int64_t j = 0; j < m; j++) grad_beta[j] = 0.0;
    double lp = 0.0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t size = n - start < BLOCK ? n - start : BLOCK;
        const double *Xb = X + start * p, *yb = y + start, *wb = w + start;
        block_eta(Xb, beta, b, NULL, size, p, eta);
        for (int64_t i = 0; i < size; i++) {
            t[i] = eta[i] * (1.0 - 2.0 * yb[i]);
            minus_abs_eta[i] = -fabs(eta[i]);
        }
        exp_vector(minus_abs_eta, e, size);
        log1p_unit(e, log1p_e, size);
        double intercept_grad = 0.0, block_loss = 0.0;
#pragma omp simd reduction(+ : intercept_grad, block_loss)
        for (int64_t i = 0; i < size; i++) {
            block_loss += wb[i] * ((t[i] > 0.0 ? t[i] : 0.0) + log1p_e[i]);
            const double sigmoid_t = (t[i] >= 0.0 ? 1.0 : e[i]) / (1.0 + e[i]);
            resid[i] = wb[i] * sigmoid_t * (2.0 * yb[i] - 1.0); /* +w s(-eta) for y = 1, -w s(eta) for 0 */
            intercept_grad += resid[i];
        }
        lp -= block_loss;
        add_block_gradient(Xb, resid, intercept_grad, size, p, fit_intercept, grad_beta);
    }
    return finish_rows(lp, beta, buf, ints, grad_beta, grad, work, out);
}

/* Binomial-logit likelihood sum w_i log p(k_i | n_i, b + X_i beta) - sum w_i log C(n_i, k_i) on
 * centred rows (the constant is packed with the prior's): each row adds w (k eta - n log(1 + exp(eta)))
 * with log(1 + exp(eta)) = max(eta, 0) + log1p(e), e = exp(-|eta|), and its residual is
 * w (k - n sigmoid(eta)), sigmoid(eta) = 1/(1 + e) or e/(1 + e). */
CLONED static int binomial_logp(const double *x, const double *buf, const int64_t *ints, double *grad,
                                double *out) {
    const int64_t p = ints[P], m = ints[M], n = ints[ROWS];
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    const double *X = buf + m + m * m + 4 * p + N_SCALARS, *k = X + n * p, *w = k + n, *trials = w + n;
    double *work = malloc(sizeof(double) * (size_t)(2 * m));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *grad_beta = work + m;
    double eta[BLOCK], minus_abs_eta[BLOCK], e[BLOCK], log1p_e[BLOCK], resid[BLOCK];
    location(x, buf, m, beta);
    const double b = fit_intercept ? beta[p] : 0.0;
    for (int64_t j = 0; j < m; j++) grad_beta[j] = 0.0;
    double lp = 0.0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t size = n - start < BLOCK ? n - start : BLOCK;
        const double *Xb = X + start * p, *kb = k + start, *wb = w + start, *nb = trials + start;
        block_eta(Xb, beta, b, NULL, size, p, eta);
        for (int64_t i = 0; i < size; i++) minus_abs_eta[i] = -fabs(eta[i]);
        exp_vector(minus_abs_eta, e, size);
        log1p_unit(e, log1p_e, size);
        double intercept_grad = 0.0, block_lp = 0.0;
#pragma omp simd reduction(+ : intercept_grad, block_lp)
        for (int64_t i = 0; i < size; i++) {
            const double softplus = (eta[i] > 0.0 ? eta[i] : 0.0) + log1p_e[i];
            block_lp += wb[i] * (kb[i] * eta[i] - nb[i] * softplus);
            const double sigmoid = (eta[i] >= 0.0 ? 1.0 : e[i]) / (1.0 + e[i]);
            resid[i] = wb[i] * (kb[i] - nb[i] * sigmoid);
            intercept_grad += resid[i];
        }
        lp += block_lp;
        add_block_gradient(Xb, resid, intercept_grad, size, p, fit_intercept, grad_beta);
    }
    return finish_rows(lp, beta, buf, ints, grad_beta, grad, work, out);
}

/* Poisson log-link likelihood sum w_i (y_i eta_i - exp(eta_i)) - sum w_i log y_i! on centred rows, with
 * eta_i = b + X_i beta + offset_i (offset_i = log exposure_i, or 0); the constant is packed with the
 * prior's. The residual of row i is w_i (y_i - exp(eta_i)). */
CLONED static int poisson_logp(const double *x, const double *buf, const int64_t *ints, double *grad, double *out) {
    const int64_t p = ints[P], m = ints[M], n = ints[ROWS];
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    const double *X = buf + m + m * m + 4 * p + N_SCALARS, *y = X + n * p, *w = y + n, *offset = w + n;
    double *work = malloc(sizeof(double) * (size_t)(2 * m));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *grad_beta = work + m;
    double eta[BLOCK], mu[BLOCK], resid[BLOCK];
    location(x, buf, m, beta);
    const double b = fit_intercept ? beta[p] : 0.0;
    for (int64_t j = 0; j < m; j++) grad_beta[j] = 0.0;
    double lp = 0.0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t size = n - start < BLOCK ? n - start : BLOCK;
        const double *Xb = X + start * p, *yb = y + start, *wb = w + start;
        block_eta(Xb, beta, b, offset + start, size, p, eta);
        exp_vector(eta, mu, size);
        double intercept_grad = 0.0, block_lp = 0.0;
#pragma omp simd reduction(+ : intercept_grad, block_lp)
        for (int64_t i = 0; i < size; i++) {
            block_lp += wb[i] * (yb[i] * eta[i] - mu[i]);
            resid[i] = wb[i] * (yb[i] - mu[i]);
            intercept_grad += resid[i];
        }
        lp += block_lp;
        add_block_gradient(Xb, resid, intercept_grad, size, p, fit_intercept, grad_beta);
    }
    return finish_rows(lp, beta, buf, ints, grad_beta, grad, work, out);
}

/* The multinomial (softmax) model: eta_ik = c_k + X_i . W_k over classes k < K, with c the K - 1
 * intercept contrasts and c_K = 0 (or all 0 without an intercept). */
typedef struct {
    int64_t K, q, n, m; /* classes, features, rows, location size */
    const double *X, *Y, *w; /* rows (n x q), their one-hot labels (n x K), weights (n) */
} Multinomial;

static Multinomial multinomial_of(const double *buf, const int64_t *ints) {
    Multinomial d;
    d.K = ints[CLASSES];
    d.q = ints[P] / d.K;
    d.n = ints[ROWS];
    d.m = ints[M];
    d.X = buf + d.m + d.m * d.m + 4 * ints[P] + N_SCALARS;
    d.Y = d.X + d.n * d.q;
    d.w = d.Y + d.n * d.K;
    return d;
}

/* For a block of rows: the softmax s (size x K), each row's sum_k y_k (eta_k - log sum_l exp eta_l)
 * and its sum_k y_k, from eta (size x K), which is overwritten by eta - max_k eta. */
static void block_softmax(const Multinomial *d, const double *Yb, double *eta, double *s, double *row_lp,
                          double *y_sums, int64_t size) {
    const int64_t K = d->K;
    for (int64_t i = 0; i < size; i++) {
        double top = eta[i * K];
        for (int64_t k = 1; k < K; k++) top = eta[i * K + k] > top ? eta[i * K + k] : top;
        for (int64_t k = 0; k < K; k++) eta[i * K + k] -= top;
    }
    exp_vector(eta, s, size * K);
    for (int64_t i = 0; i < size; i++) {
        double total = 0.0, y_eta = 0.0, y_sum = 0.0;
        for (int64_t k = 0; k < K; k++) {
            total += s[i * K + k];
            y_eta += Yb[i * K + k] * eta[i * K + k];
            y_sum += Yb[i * K + k];
        }
        for (int64_t k = 0; k < K; k++) s[i * K + k] /= total;
        row_lp[i] = y_eta - y_sum * log(total);
        y_sums[i] = y_sum;
    }
}

/* eta (size x K) = c + W X_i for a block of rows */
static void block_class_eta(const Multinomial *d, const double *Xb, const double *beta, const double *c,
                            int64_t size, double *eta) {
    const int64_t K = d->K, q = d->q;
    for (int64_t i = 0; i < size; i++)
        for (int64_t k = 0; k < K; k++) {
            double acc = c[k];
            const double *Wk = beta + k * q;
#pragma omp simd reduction(+ : acc)
            for (int64_t j = 0; j < q; j++) acc += Xb[i * q + j] * Wk[j];
            eta[i * K + k] = acc;
        }
}

/* The intercepts c (K) at beta: the contrasts, then 0; all 0 without an intercept. */
static void class_intercepts(const Multinomial *d, const double *beta, int fit_intercept, double *c) {
    for (int64_t k = 0; k < d->K; k++) c[k] = fit_intercept && k < d->K - 1 ? beta[d->K * d->q + k] : 0.0;
}

/* sum_i w_i sum_k y_ik log softmax_k(eta_i), in blocks of rows; the residual of row i and class k is
 * w_i (y_ik - s_ik sum_l y_il). */
CLONED static int multinomial_logp(const double *x, const double *buf, const int64_t *ints, double *grad,
                                   double *out) {
    const Multinomial d = multinomial_of(buf, ints);
    const int64_t K = d.K, q = d.q, m = d.m;
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    double *work = malloc(sizeof(double) * (size_t)(2 * m + K + 3 * BLOCK * K + 2 * BLOCK));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *grad_beta = work + m, *c = grad_beta + m, *eta = c + K, *s = eta + BLOCK * K;
    double *resid = s + BLOCK * K, *row_lp = resid + BLOCK * K, *y_sums = row_lp + BLOCK;
    location(x, buf, m, beta);
    class_intercepts(&d, beta, fit_intercept, c);
    for (int64_t j = 0; j < m; j++) grad_beta[j] = 0.0;
    double lp = 0.0;
    for (int64_t start = 0; start < d.n; start += BLOCK) {
        const int64_t size = d.n - start < BLOCK ? d.n - start : BLOCK;
        const double *Xb = d.X + start * q, *Yb = d.Y + start * K, *wb = d.w + start;
        block_class_eta(&d, Xb, beta, c, size, eta);
        block_softmax(&d, Yb, eta, s, row_lp, y_sums, size);
        for (int64_t i = 0; i < size; i++) {
            lp += wb[i] * row_lp[i];
            for (int64_t k = 0; k < K; k++)
                resid[i * K + k] = wb[i] * (Yb[i * K + k] - s[i * K + k] * y_sums[i]);
        }
        for (int64_t i = 0; i < size; i++)
            for (int64_t k = 0; k < K; k++) {
                const double r = resid[i * K + k];
                double *gk = grad_beta + k * q;
                for (int64_t j = 0; j < q; j++) gk[j] += r * Xb[i * q + j];
                if (fit_intercept && k < K - 1) grad_beta[K * q + k] += r;
            }
    }
    return finish_rows(lp, beta, buf, ints, grad_beta, grad, work, out);
}

static int64_t finish(int status, uint64_t dim, const double *grad, double value, double *logp) {
    if (status != OK) return status;
    *logp = value;
    for (uint64_t i = 0; i < dim; i++)
        if (!isfinite(grad[i])) return GRAD_NOT_FINITE;
    return isfinite(value) ? OK : LOGP_NOT_FINITE;
}

/* nutpie's logp callback: the density of the family in the header. */
int64_t bayesreg_logp(uint64_t dim, const double *x, double *grad, double *logp, void *user_data) {
    const double *buf = buffer_of(user_data);
    const int64_t *ints = header_of(user_data);
    double value = 0.0;
    int status;
    switch (ints[FAMILY]) {
    case GAUSSIAN:
        status = gaussian_logp(x, buf, ints, grad, &value);
        break;
    case BERNOULLI:
        status = bernoulli_logp(x, buf, ints, grad, &value);
        break;
    case BINOMIAL:
        status = binomial_logp(x, buf, ints, grad, &value);
        break;
    case MULTINOMIAL:
        status = multinomial_logp(x, buf, ints, grad, &value);
        break;
    default:
        status = poisson_logp(x, buf, ints, grad, &value);
    }
    return finish(status, dim, grad, value, logp);
}

/* Every stored variable at x, in nutpie's order (the permutation after the header). The canonical
 * order is z, [log prior sd, prior sd], [log noise sd, noise sd], coef, [intercept_centered,
 * intercept]; for K classes the intercepts are the K - 1 contrasts and the K intercepts of
 * uncentred X, centred to sum 0. */
int64_t bayesreg_expand(uint64_t dim, uint64_t n_expanded, const double *x, double *out, void *user_data) {
    (void)dim;
    const double *buf = buffer_of(user_data);
    const int64_t *ints = header_of(user_data);
    const int64_t p = ints[P], m = ints[M];
    const double *x_mean = buf + m + m * m + 3 * p;
    double *work = malloc(sizeof(double) * (size_t)(m + (int64_t)n_expanded));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *canonical = work + m;
    const double *z = x + ints[FREE_PRIOR_SD];
    location(z, buf, m, beta);
    int64_t k = 0;
    for (int64_t j = 0; j < m; j++) canonical[k++] = z[j];
    if (ints[FREE_PRIOR_SD]) {
        canonical[k++] = x[0];
        canonical[k++] = exp(x[0]);
    }
    if (ints[FAMILY] == GAUSSIAN && ints[NOISE] != NOISE_KNOWN) {
        canonical[k++] = z[m];
        canonical[k++] = exp(z[m]);
    }
    for (int64_t j = 0; j < p; j++) canonical[k++] = beta[j];
    if (ints[FIT_INTERCEPT] && ints[FAMILY] == MULTINOMIAL) {
        const int64_t K = ints[CLASSES], q = p / K;
        double *c = canonical + k + K - 1, mean = 0.0; /* c_k = (contrasts, 0)_k - x_mean . W_k */
        for (int64_t l = 0; l < K; l++) {
            c[l] = l < K - 1 ? beta[p + l] : 0.0;
            for (int64_t j = 0; j < q; j++) c[l] -= x_mean[j] * beta[l * q + j];
            mean += c[l];
        }
        mean /= (double)K;
        for (int64_t l = 0; l < K - 1; l++) canonical[k++] = beta[p + l];
        for (int64_t l = 0; l < K; l++) canonical[k++] = c[l] - mean;
    } else if (ints[FIT_INTERCEPT]) {
        double intercept = beta[p];
        for (int64_t j = 0; j < p; j++) intercept -= x_mean[j] * beta[j];
        canonical[k++] = beta[p];
        canonical[k++] = intercept;
    }
    for (uint64_t i = 0; i < n_expanded; i++) out[i] = canonical[ints[HEADER + i]];
    free(work);
    return OK;
}

/* --- Hessians, for the MAP (Newton's method and the Laplace covariance it whitens with) --------
 *
 * hess (dim x dim, row-major) is the Hessian of the log density in the sampler's coordinates
 * (z, [log sigma]). The Jacobian of the log transform is linear in log sigma, so the Hessian is the
 * same with or without it. The L1 part of a prior has no curvature away from its kink. */

/* The coefficient and intercept priors' curvature, added to the (m x m) Hessian in beta. */
static void prior_hessian(const double *buf, const int64_t *ints, double *Hb) {
    const int64_t p = ints[P], m = ints[M];
    const double *mean = buf + m + m * m, *l2 = mean + 2 * p, *x_mean = mean + 3 * p, *s = mean + 4 * p;
    for (int64_t j = 0; j < p; j++) Hb[j * m + j] -= l2[j];
    if (ints[INTERCEPT_PRIOR]) { /* intercept = beta[p] - x_mean . beta[:p]: its gradient is (-x_mean, 1) */
        const double precision = 1.0 / (s[INT_SD] * s[INT_SD]);
        for (int64_t j = 0; j < m; j++) {
            const double aj = j < p ? -x_mean[j] : 1.0;
            for (int64_t l = 0; l < m; l++) Hb[j * m + l] -= aj * (l < p ? -x_mean[l] : 1.0) * precision;
        }
    }
}

/* hess[:m, :m] = L^T Hb L, for beta = loc + L z. */
static void beta_to_z(const double *Hb, const double *buf, int64_t m, int64_t dim, double *work, double *hess) {
    const double *L = buf + m;
    for (int64_t i = 0; i < m; i++) /* work = Hb L */
        for (int64_t b = 0; b < m; b++) {
            double acc = 0.0;
            for (int64_t j = 0; j < m; j++) acc += Hb[i * m + j] * L[j * m + b];
            work[i * m + b] = acc;
        }
    for (int64_t a = 0; a < m; a++)
        for (int64_t b = 0; b < m; b++) {
            double acc = 0.0;
            for (int64_t i = 0; i < m; i++) acc += L[i * m + a] * work[i * m + b];
            hess[a * dim + b] = acc;
        }
}

static int gaussian_hessian(const double *x, const double *buf, const int64_t *ints, int64_t dim, double *hess) {
    const int64_t p = ints[P], m = ints[M], k = ints[ROWS], noise = ints[NOISE];
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    const double *s = buf + m + m * m + 4 * p;
    const double *R = s + N_SCALARS, *qty = R + k * p;
    const double n = qty[k];
    double *work = malloc(sizeof(double) * (size_t)(3 * m + k + 2 * m * m));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *grad_lik = work + m, *cross = work + 2 * m, *resid = work + 3 * m;
    double *Hb = resid + k, *tmp = Hb + m * m;
    location(x, buf, m, beta);
    const double sigma = noise == NOISE_KNOWN ? s[NOISE_VALUE] : exp(x[m]);
    const double precision = 1.0 / (sigma * sigma);
    for (int64_t j = 0; j < m * m; j++) Hb[j] = 0.0;
    for (int64_t j = 0; j < p; j++)
        for (int64_t l = 0; l < p; l++) {
            double acc = 0.0;
            for (int64_t r = 0; r < k; r++) acc += R[r * p + j] * R[r * p + l];
            Hb[j * m + l] = -acc * precision;
        }
    if (fit_intercept) Hb[p * m + p] = -n * precision;
    prior_hessian(buf, ints, Hb);
    beta_to_z(Hb, buf, m, dim, tmp, hess);
    if (noise != NOISE_KNOWN) { /* log sigma: rss / sigma^2 is its only coupling to beta */
        const double b = fit_intercept ? beta[p] : 0.0, y_gap = s[Y_MEAN] - b;
        double rss = n * y_gap * y_gap;
        for (int64_t r = 0; r < k; r++) {
            double acc = qty[r];
            for (int64_t j = 0; j < p; j++) acc -= R[r * p + j] * beta[j];
            resid[r] = acc;
            rss += acc * acc;
        }
        for (int64_t j = 0; j < p; j++) {
            double acc = 0.0;
            for (int64_t r = 0; r < k; r++) acc += R[r * p + j] * resid[r];
            grad_lik[j] = acc * precision;
        }
        if (fit_intercept) grad_lik[p] = n * y_gap * precision;
        const double *L = buf + m;
        for (int64_t a = 0; a < m; a++) { /* d(grad_z)/d(log sigma) = -2 L^T grad_lik */
            double acc = 0.0;
            for (int64_t i = 0; i < m; i++) acc += L[i * m + a] * grad_lik[i];
            cross[a] = -2.0 * acc;
            hess[a * dim + m] = hess[m * dim + a] = cross[a];
        }
        double d1, d2;
        noise_prior(noise, sigma, s, &d1, &d2);
        hess[m * dim + m] = -2.0 * rss * precision + d2;
    }
    free(work);
    return OK;
}

/* Hb[upper triangle] -= sum_i q_i x_i x_i^T over a block of rows, x_i = (X_i, 1 with an intercept) */
static inline void subtract_rows_outer(const double *Xb, const double *q, int64_t size, int64_t p, int64_t m,
                                       int fit_intercept, double *Hb) {
    double qx[BLOCK]; /* q_i X_ij: column j weighted */
    for (int64_t j = 0; j < p; j++) {
        const double *col = Xb + j * size;
        for (int64_t i = 0; i < size; i++) qx[i] = q[i] * col[i];
        for (int64_t l = j; l < p; l++) Hb[j * m + l] -= block_dot(qx, Xb + l * size, size);
        if (fit_intercept) Hb[j * m + p] -= block_sum(qx, size);
    }
    if (fit_intercept) Hb[p * m + p] -= block_sum(q, size);
}

static void symmetrise(double *Hb, int64_t m) { /* from the upper triangle */
    for (int64_t j = 0; j < m; j++)
        for (int64_t l = 0; l < j; l++) Hb[j * m + l] = Hb[l * m + j];
}

/* -sum_i w_i n_i s(eta_i) (1 - s(eta_i)) x_i x_i^T with x_i = (X_i, 1), and n_i = 1 (Bernoulli) or the
 * trials (binomial): the same blocks as the densities. */
CLONED static int logit_hessian(const double *x, const double *buf, const int64_t *ints, int64_t dim,
                                    double *hess) {
    const int64_t p = ints[P], m = ints[M], n = ints[ROWS];
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    const double *X = buf + m + m * m + 4 * p + N_SCALARS, *w = X + n * p + n;
    const double *trials = ints[FAMILY] == BINOMIAL ? w + n : NULL;
    double *work = malloc(sizeof(double) * (size_t)(m + 2 * m * m));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *Hb = work + m, *tmp = Hb + m * m;
    double eta[BLOCK], e[BLOCK], q[BLOCK];
    location(x, buf, m, beta);
    const double b = fit_intercept ? beta[p] : 0.0;
    for (int64_t j = 0; j < m * m; j++) Hb[j] = 0.0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t size = n - start < BLOCK ? n - start : BLOCK;
        const double *Xb = X + start * p, *wb = w + start;
        block_eta(Xb, beta, b, NULL, size, p, eta);
        for (int64_t i = 0; i < size; i++) eta[i] = -fabs(eta[i]);
        exp_vector(eta, e, size);
        for (int64_t i = 0; i < size; i++) q[i] = wb[i] * e[i] / ((1.0 + e[i]) * (1.0 + e[i]));
        if (trials != NULL)
            for (int64_t i = 0; i < size; i++) q[i] *= trials[start + i];
        subtract_rows_outer(Xb, q, size, p, m, fit_intercept, Hb);
    }
    symmetrise(Hb, m);
    prior_hessian(buf, ints, Hb);
    beta_to_z(Hb, buf, m, dim, tmp, hess);
    free(work);
    return OK;
}

/* -sum_i w_i exp(eta_i) x_i x_i^T with x_i = (X_i, 1). */
CLONED static int poisson_hessian(const double *x, const double *buf, const int64_t *ints, int64_t dim,
                                  double *hess) {
    const int64_t p = ints[P], m = ints[M], n = ints[ROWS];
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    const double *X = buf + m + m * m + 4 * p + N_SCALARS, *w = X + n * p + n, *offset = w + n;
    double *work = malloc(sizeof(double) * (size_t)(m + 2 * m * m));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *Hb = work + m, *tmp = Hb + m * m;
    double eta[BLOCK], q[BLOCK];
    location(x, buf, m, beta);
    const double b = fit_intercept ? beta[p] : 0.0;
    for (int64_t j = 0; j < m * m; j++) Hb[j] = 0.0;
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t size = n - start < BLOCK ? n - start : BLOCK;
        const double *Xb = X + start * p, *wb = w + start;
        block_eta(Xb, beta, b, offset + start, size, p, eta);
        exp_vector(eta, q, size);
        for (int64_t i = 0; i < size; i++) q[i] *= wb[i];
        subtract_rows_outer(Xb, q, size, p, m, fit_intercept, Hb);
    }
    symmetrise(Hb, m);
    prior_hessian(buf, ints, Hb);
    beta_to_z(Hb, buf, m, dim, tmp, hess);
    free(work);
    return OK;
}

/* -sum_i w_i (sum_k y_ik) (diag(s_i) - s_i s_i^T) (x) x_i x_i^T over the classes' (W_k, c_k), with
 * x_i = (X_i, 1) where class k has an intercept contrast (k < K - 1). */
static int multinomial_hessian(const double *x, const double *buf, const int64_t *ints, int64_t dim, double *hess) {
    const Multinomial d = multinomial_of(buf, ints);
    const int64_t K = d.K, q = d.q, m = d.m;
    const int fit_intercept = (int)ints[FIT_INTERCEPT];
    double *work = malloc(sizeof(double) * (size_t)(m + 2 * m * m + K + 2 * BLOCK * K + 2 * BLOCK));
    if (work == NULL) return NO_MEMORY;
    double *beta = work, *Hb = work + m, *tmp = Hb + m * m, *c = tmp + m * m, *eta = c + K, *s = eta + BLOCK * K;
    double *row_lp = s + BLOCK * K, *y_sums = row_lp + BLOCK;
    location(x, buf, m, beta);
    class_intercepts(&d, beta, fit_intercept, c);
    for (int64_t j = 0; j < m * m; j++) Hb[j] = 0.0;
    for (int64_t start = 0; start < d.n; start += BLOCK) {
        const int64_t size = d.n - start < BLOCK ? d.n - start : BLOCK;
        const double *Xb = d.X + start * q, *Yb = d.Y + start * K, *wb = d.w + start;
        block_class_eta(&d, Xb, beta, c, size, eta);
        block_softmax(&d, Yb, eta, s, row_lp, y_sums, size);
        for (int64_t i = 0; i < size; i++) {
            const double *row = Xb + i * q, *si = s + i * K, weight = wb[i] * y_sums[i];
            for (int64_t k = 0; k < K; k++)
                for (int64_t l = k; l < K; l++) { /* the (k, l) block, k <= l: its upper triangle is filled */
                    const double r = weight * ((k == l ? si[k] : 0.0) - si[k] * si[l]);
                    const int has_k = fit_intercept && k < K - 1, has_l = fit_intercept && l < K - 1;
                    for (int64_t a = 0; a < q; a++) {
                        const double ra = r * row[a];
                        double *Hrow = Hb + (k * q + a) * m;
                        for (int64_t b = 0; b < q; b++) Hrow[l * q + b] -= ra * row[b];
                        if (has_l) Hrow[K * q + l] -= ra;
                        if (has_k) Hb[(K * q + k) * m + l * q + a] -= ra;
                    }
                    if (has_k && has_l) Hb[(K * q + k) * m + K * q + l] -= r;
                }
        }
    }
    /* only the blocks k <= l were filled (and within k == l all of it): mirror them */
    for (int64_t a = 0; a < m; a++)
        for (int64_t b = 0; b < m; b++) {
            const int64_t ka = a < K * q ? a / q : a - K * q, kb = b < K * q ? b / q : b - K * q;
            if (ka > kb) Hb[a * m + b] = Hb[b * m + a];
        }
    prior_hessian(buf, ints, Hb);
    beta_to_z(Hb, buf, m, dim, tmp, hess);
    free(work);
    return OK;
}

int64_t bayesreg_hessian(uint64_t dim, const double *x, double *hess, void *user_data) {
    const double *buf = buffer_of(user_data);
    const int64_t *ints = header_of(user_data);
    if (ints[FREE_PRIOR_SD]) return NOT_COVERED; /* the MAP is at a fixed prior sd */
    switch (ints[FAMILY]) {
    case GAUSSIAN:
        return gaussian_hessian(x, buf, ints, (int64_t)dim, hess);
    case BERNOULLI:
    case BINOMIAL:
        return logit_hessian(x, buf, ints, (int64_t)dim, hess);
    case MULTINOMIAL:
        return multinomial_hessian(x, buf, ints, (int64_t)dim, hess);
    default:
        return poisson_hessian(x, buf, ints, (int64_t)dim, hess);
    }
}

/* For the tests: the vectorised exp and log1p on their own. */
void bayesreg_exp(const double *x, double *out, int64_t n) { exp_vector(x, out, n); }
void bayesreg_log1p_unit(const double *e, double *out, int64_t n) { log1p_unit(e, out, n); }

/* The module: each function's address as an int (ctypes or nutpie call them). */
static int add_address(PyObject *module, const char *name, uintptr_t address) {
    PyObject *value = PyLong_FromUnsignedLongLong((unsigned long long)address);
    if (value == NULL) return -1;
    int status = PyModule_AddObjectRef(module, name, value);
    Py_DECREF(value);
    return status;
}

static int exec_module(PyObject *module) {
    if (add_address(module, "logp", (uintptr_t)bayesreg_logp) < 0 ||
        add_address(module, "expand", (uintptr_t)bayesreg_expand) < 0 ||
        add_address(module, "hessian", (uintptr_t)bayesreg_hessian) < 0 ||
        add_address(module, "exp", (uintptr_t)bayesreg_exp) < 0 ||
        add_address(module, "log1p_unit", (uintptr_t)bayesreg_log1p_unit) < 0)
        return -1;
#ifdef SOURCE_SHA256 /* of this file, from setup.py: fixed_density refuses a build of an older one */
    if (PyModule_AddStringConstant(module, "SOURCE_SHA256", SOURCE_SHA256) < 0) return -1;
#endif
    if (PyModule_AddIntConstant(module, "BLOCK", BLOCK) < 0) return -1;
    return PyModule_AddIntConstant(module, "N_SCALARS", N_SCALARS);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bayesreg.backend._density",
    .m_doc = "The hand-written log densities of bayesreg.backend.fixed_density (addresses of C functions).",
    .m_size = 0,
    .m_slots = slots,
};

PyMODINIT_FUNC PyInit__density(void) { return PyModuleDef_Init(&definition); }
