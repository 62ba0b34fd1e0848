"""Adam as a pure function of tensors, so one compiled step can train on every backend."""

from keras import ops


class Adam:
    """Keras' Adam update (same defaults and formula as keras.optimizers.Adam), as a pure function.

    Keras' TensorFlow backend has no stateless optimizer step, and one pure step is what lets a single compiled
    function train on every backend; tests check it against keras.optimizers.Adam.
    """

    def __init__(self, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon

    def initial_state(self, weights):
        """(step count, first moments, second moments), all zero, made where `weights` live."""
        return [ops.zeros((), "float32"), [ops.zeros_like(w) for w in weights], [ops.zeros_like(w) for w in weights]]

    def update(self, weights, grads, state):
        count, first, second = state
        count = count + 1.0
        alpha = self.learning_rate * ops.sqrt(1 - self.beta_2**count) / (1 - self.beta_1**count)
        first = [m + (g - m) * (1 - self.beta_1) for m, g in zip(first, grads)]
        second = [v + (ops.square(g) - v) * (1 - self.beta_2) for v, g in zip(second, grads)]
        weights = [w - m * alpha / (ops.sqrt(v) + self.epsilon) for w, m, v in zip(weights, first, second)]
        return weights, [count, first, second]
