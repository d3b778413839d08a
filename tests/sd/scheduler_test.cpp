// Noise schedule and samplers against diffusers 0.42.1 (tests/reference/make_scheduler_golden.py): timesteps,
// sigmas and every step of full sampling loops with a deterministic stand-in model, plus the error paths.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/sd/ddim_scheduler.h"
#include "stablepose/sd/noise_schedule.h"
#include "stablepose/sd/scheduler.h"
#include "test_util.h"

namespace stablepose {
namespace {

using testing::golden;
using testing::max_abs_diff;

constexpr double kTolerance = 1e-6;  // max |C++ - diffusers| per step, float32 on the CPU

torch::Tensor g(const std::string& name) { return golden("schedulers", name); }

// The stand-in model of the reference script: eps = 0.5 * x * cos(t / 1000) + 0.1, same op order.
torch::Tensor fake_eps(const torch::Tensor& x, double t) { return x * 0.5 * std::cos(t / 1000) + 0.1; }

torch::Tensor host_tensor(const std::vector<float>& v) { return torch::tensor(v, torch::kFloat32); }

// The SD 1.5 scheduler_config.json the reference passes to SchedulerClass.from_config.
nlohmann::json sd15_config() {
    return nlohmann::json::parse(
        R"({"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
        "clip_sample": false})");
}

std::unique_ptr<Scheduler> make(const std::string& name, const SchedulerOptions& options = {}) {
    return make_scheduler(name, NoiseSchedule(NoiseScheduleConfig::sd15()), options);
}

// ---- schedule ---------------------------------------------------------------------------------------------

TEST(NoiseSchedule, EqualsDiffusersAndLdmBitForBit) {
    const NoiseSchedule sd15;
    EXPECT_TRUE(torch::equal(host_tensor(sd15.alphas_cumprod()), g("schedule.sd15.alphas_cumprod")));
    EXPECT_TRUE(torch::equal(host_tensor(sd15.betas()), g("schedule.sd15.betas")));
    EXPECT_TRUE(torch::equal(host_tensor(sd15.sigmas()), g("schedule.sd15.sigmas")));
    EXPECT_TRUE(torch::equal(sd15.alphas_cumprod_tensor(), g("schedule.sd15.alphas_cumprod")));

    const NoiseSchedule ldm(NoiseScheduleConfig::sd15_ldm());
    EXPECT_TRUE(torch::equal(host_tensor(ldm.alphas_cumprod()), g("schedule.ldm.alphas_cumprod")));
    // The two arithmetics differ in the last bits only.
    const double rel = (host_tensor(sd15.alphas_cumprod()) / host_tensor(ldm.alphas_cumprod()) - 1)
                           .abs()
                           .max()
                           .item<double>();
    std::printf("[ schedule ] float32 (diffusers) vs float64 (LDM) alphas_cumprod: max relative diff %.3g\n",
                rel);
    EXPECT_GT(rel, 0.0);
    EXPECT_LT(rel, 2e-6);

    NoiseScheduleConfig linear;
    linear.beta_schedule = "linear";
    linear.beta_start = 0.0001;
    linear.beta_end = 0.02;
    EXPECT_TRUE(torch::equal(host_tensor(NoiseSchedule(linear).alphas_cumprod()),
                             g("schedule.linear.alphas_cumprod")));
}

TEST(NoiseSchedule, Float64ArithmeticAddsNoiseAsLdmQSample) {
    // LDM's sqrt buffers are float32 roundings of float64 square roots; diffusers takes float32 square roots
    // of the float32 alphas_cumprod. They differ in the last bits at many timesteps; the LDM mode must give
    // LDM's.
    const NoiseSchedule ldm(NoiseScheduleConfig::sd15_ldm());
    const auto out = ldm.add_noise(g("add_noise.x0"), g("add_noise.noise"), g("add_noise.timesteps"));
    EXPECT_TRUE(torch::equal(out, g("add_noise.ldm_out"))) << max_abs_diff(out, g("add_noise.ldm_out"));
    const auto acp = host_tensor(ldm.alphas_cumprod());
    const auto naive_sqrt = acp.sqrt(), naive_one_minus = (1 - acp).sqrt();
    const auto differ =
        naive_sqrt.ne(g("schedule.ldm.sqrt_alphas_cumprod")).sum().item<int64_t>() +
        naive_one_minus.ne(g("schedule.ldm.sqrt_one_minus_alphas_cumprod")).sum().item<int64_t>();
    std::printf("[ parity ] LDM sqrt buffers: %lld of 2000 float32 values differ from float32 square roots\n",
                static_cast<long long>(differ));
    EXPECT_GT(differ, 0);  // the two computations are distinguishable, so the check above means something
    const auto all = torch::arange(1000, torch::kLong);
    const auto ones = torch::ones({1000, 1});
    EXPECT_TRUE(torch::equal(ldm.add_noise(ones, torch::zeros({1000, 1}), all).flatten(),
                             g("schedule.ldm.sqrt_alphas_cumprod")));
    EXPECT_TRUE(torch::equal(ldm.add_noise(torch::zeros({1000, 1}), ones, all).flatten(),
                             g("schedule.ldm.sqrt_one_minus_alphas_cumprod")));
}

TEST(NoiseSchedule, AddNoiseMatchesDiffusersPerSampleTimesteps) {
    const NoiseSchedule schedule;
    const auto out = schedule.add_noise(g("add_noise.x0"), g("add_noise.noise"), g("add_noise.timesteps"));
    const double diff = max_abs_diff(out, g("add_noise.out"));
    std::printf("[ parity ] add_noise (t = 0, 1, 500, 998, 999): max |diff| %.3g\n", diff);
    EXPECT_LE(diff, kTolerance);
    // The same through the scheduler interface.
    EXPECT_TRUE(torch::equal(
        make("euler")->add_noise(g("add_noise.x0"), g("add_noise.noise"), g("add_noise.timesteps")), out));
}

TEST(NoiseSchedule, RejectsBadInputs) {
    const NoiseSchedule schedule;
    const auto x = torch::zeros({2, 4, 2, 2});
    EXPECT_THROW(schedule.add_noise(x, x, torch::tensor({0, 1000}, torch::kLong)), Error);  // out of range
    EXPECT_THROW(schedule.add_noise(x, x, torch::tensor({-1, 3}, torch::kLong)), Error);
    EXPECT_THROW(schedule.add_noise(x, x, torch::tensor({0, 1}, torch::kInt)), Error);  // not int64
    EXPECT_THROW(schedule.add_noise(x, x, torch::tensor({0}, torch::kLong)), Error);    // not [B]
    EXPECT_THROW(schedule.add_noise(x, torch::zeros({2, 4, 2, 3}), torch::tensor({0, 1}, torch::kLong)),
                 Error);
    EXPECT_THROW(schedule.alpha_cumprod(1000), Error);
    NoiseScheduleConfig bad;
    bad.prediction_type = "v_prediction";
    EXPECT_THROW(NoiseSchedule{bad}, Error);
    bad = {};
    bad.beta_schedule = "squaredcos_cap_v2";
    EXPECT_THROW(NoiseSchedule{bad}, Error);
}

// ---- the official sampler ---------------------------------------------------------------------------------

TEST(Scheduler, OfficialDdimIs50LeadingStepsEndingAtAlphasCumprod0) {
    for (const auto& config : {NoiseScheduleConfig::sd15(), NoiseScheduleConfig::sd15_ldm()}) {
        const NoiseSchedule schedule(config);
        DdimScheduler ddim(
            schedule);  // SD 1.5 defaults: leading, steps_offset 1, set_alpha_to_one false, eta 0
        ddim.set_timesteps(50);
        ASSERT_EQ(ddim.num_steps(), 50);
        const auto ts = ddim.timesteps();
        EXPECT_EQ(ts.scalar_type(), torch::kLong);
        EXPECT_TRUE(torch::equal(ts, torch::arange(981, 0, -20, torch::kLong)));  // 981, 961, ..., 21, 1
        EXPECT_FALSE(ddim.stochastic());
        for (int64_t i = 0; i + 1 < 50; ++i)
            EXPECT_EQ(ddim.step_scalars(i).alpha_prod_t_prev, schedule.alphas_cumprod()[981 - 20 * (i + 1)]);
        EXPECT_EQ(ddim.step_scalars(49).alpha_prod_t, schedule.alphas_cumprod()[1]);
        EXPECT_EQ(ddim.step_scalars(49).alpha_prod_t_prev, schedule.alphas_cumprod()[0]);  // not 1
        EXPECT_NE(ddim.step_scalars(49).alpha_prod_t_prev, 1.0f);
        EXPECT_EQ(ddim.init_noise_sigma(), 1.0);
    }
}

// ---- full loops against diffusers -------------------------------------------------------------------------

struct LoopCase {
    std::string golden, sampler;
    int64_t steps;
    SchedulerOptions options;
};

std::vector<LoopCase> loop_cases() {
    const auto with = [](auto set) {
        SchedulerOptions o;
        set(o);
        return o;
    };
    return {
        {"ddim_50", "ddim", 50, {}},
        {"ddim_20", "ddim", 20, {}},
        {"ddim_7", "ddim", 7, {}},
        {"ddim_trailing_7", "ddim", 7, with([](auto& o) { o.timestep_spacing = TimestepSpacing::trailing; })},
        {"ddim_linspace_7", "ddim", 7, with([](auto& o) { o.timestep_spacing = TimestepSpacing::linspace; })},
        {"ddim_alpha_one_7", "ddim", 7, with([](auto& o) { o.set_alpha_to_one = true; })},
        {"ddim_eta05_50", "ddim", 50, with([](auto& o) { o.eta = 0.5; })},
        {"ddim_eta05_gen_7", "ddim", 7, with([](auto& o) { o.eta = 0.5; })},
        {"dpmpp_2m_50", "dpmpp_2m", 50, {}},
        {"dpmpp_2m_20", "dpmpp_2m", 20, {}},
        {"dpmpp_2m_7", "dpmpp_2m", 7, {}},
        {"dpmpp_2m_leading_20", "dpmpp_2m", 20,
         with([](auto& o) { o.timestep_spacing = TimestepSpacing::leading; })},
        {"dpmpp_2m_karras_20", "dpmpp_2m", 20, with([](auto& o) { o.use_karras_sigmas = true; })},
        {"euler_50", "euler", 50, {}},
        {"euler_20", "euler", 20, {}},
        {"euler_7", "euler", 7, {}},
        {"euler_leading_20", "euler", 20,
         with([](auto& o) { o.timestep_spacing = TimestepSpacing::leading; })},
        {"euler_karras_20", "euler", 20, with([](auto& o) { o.use_karras_sigmas = true; })},
    };
}

TEST(Scheduler, FullLoopsMatchDiffusersAtEveryStep) {
    const auto x_T = g("x_T");  // [2, 4, 8, 8]
    double worst = 0;
    for (const auto& c : loop_cases()) {
        SCOPED_TRACE(c.golden);
        auto scheduler = make(c.sampler, c.options);
        scheduler->set_timesteps(c.steps);
        const auto timesteps = scheduler->timesteps();
        const auto expected_timesteps = g(c.golden + ".timesteps");
        ASSERT_EQ(timesteps.scalar_type(), expected_timesteps.scalar_type());
        ASSERT_EQ(timesteps.sizes(), expected_timesteps.sizes());
        const double timestep_diff = max_abs_diff(timesteps, expected_timesteps);
        if (c.golden == "euler_karras_20") {
            // Fractional timesteps interpolated in log-sigma: diffusers takes np.log of the float32 training
            // sigmas, and NumPy's SIMD float32 log is off by one ulp from the correctly rounded value for
            // ~20% of them; a timestep can move by one float32 ulp (< 6.2e-5 below 1000).
            EXPECT_LE(timestep_diff, 6.2e-5);
        } else {
            EXPECT_EQ(timestep_diff, 0.0) << timesteps << expected_timesteps;
        }
        double sigma_diff = 0;
        if (c.sampler != "ddim") {
            sigma_diff = max_abs_diff(host_tensor(scheduler->sigmas()), g(c.golden + ".sigmas"));
            EXPECT_EQ(sigma_diff, 0.0);
        }
        EXPECT_EQ(scheduler->init_noise_sigma(), g(c.golden + ".init_noise_sigma").item<double>());

        const auto samples = g(c.golden + ".samples");  // [steps + 1, 2, 4, 8, 8]
        const bool explicit_noise = c.golden == "ddim_eta05_50";
        auto generator = at::make_generator<at::CPUGeneratorImpl>(1234);
        auto x = x_T * scheduler->init_noise_sigma();
        double loop_diff = max_abs_diff(x, samples[0]);
        for (int64_t i = 0; i < scheduler->num_steps(); ++i) {
            const auto eps = fake_eps(scheduler->scale_model_input(x, i), scheduler->timestep(i));
            if (explicit_noise)
                x = scheduler->step(eps, i, x, g("ddim_eta05_50.noise")[i]);
            else if (scheduler->stochastic())
                x = scheduler->step(eps, i, x, generator);
            else
                x = scheduler->step(eps, i, x);
            const double diff = max_abs_diff(x, samples[i + 1]);
            EXPECT_LE(diff, kTolerance) << "step " << i;
            loop_diff = std::max(loop_diff, diff);
        }
        std::printf(
            "[ parity ] %-20s %2lld steps: samples max |diff| %.3g (max |x| %.3g), sigmas %.3g, timesteps "
            "%.3g\n",
            c.golden.c_str(), static_cast<long long>(c.steps), loop_diff, samples.abs().max().item<double>(),
            sigma_diff, timestep_diff);
        worst = std::max(worst, loop_diff);
    }
    std::printf("[ parity ] all loops: max |diff| %.3g\n", worst);
}

// Timesteps and sigmas for every spacing and step counts 1 .. 1000; where diffusers produces a timestep
// outside [0, 999] (leading + steps_offset at 1000 steps, trailing at 61 steps) set_timesteps fails instead.
TEST(Scheduler, SpacingsMatchDiffusersForManyStepCounts) {
    for (const std::string name : {"ddim", "dpmpp_2m", "euler"}) {
        for (const auto spacing :
             {TimestepSpacing::leading, TimestepSpacing::linspace, TimestepSpacing::trailing}) {
            for (const int64_t steps : {1, 2, 7, 20, 50, 61, 999, 1000}) {
                const auto key = "grid." + name + "." + to_string(spacing) + "." + std::to_string(steps);
                SCOPED_TRACE(key);
                SchedulerOptions options;
                options.timestep_spacing = spacing;
                auto scheduler = make(name, options);
                if (g(key + ".valid").item<int64_t>() == 0) {
                    EXPECT_THROW(scheduler->set_timesteps(steps), Error);
                    EXPECT_FALSE(scheduler->has_timesteps());
                    continue;
                }
                scheduler->set_timesteps(steps);
                EXPECT_TRUE(torch::equal(scheduler->timesteps(), g(key + ".timesteps")));
                if (name != "ddim") {
                    EXPECT_TRUE(torch::equal(host_tensor(scheduler->sigmas()), g(key + ".sigmas")));
                }
            }
        }
    }
}

// ---- configuration ----------------------------------------------------------------------------------------

TEST(Scheduler, Sd15DiffusersConfigGivesTheDefaults) {
    const auto config = DiffusersSchedulerConfig::from_json(sd15_config());
    EXPECT_EQ(config.schedule.to_json(), NoiseScheduleConfig::sd15().to_json());
    EXPECT_EQ(config.options.to_json(), SchedulerOptions{}.to_json());
    EXPECT_EQ(make("ddim", config.options)->timestep_spacing(), TimestepSpacing::leading);
    EXPECT_EQ(make("dpmpp_2m", config.options)->timestep_spacing(), TimestepSpacing::linspace);
    EXPECT_EQ(make("euler", config.options)->timestep_spacing(), TimestepSpacing::linspace);

    // A config saved by a newer diffusers carries timestep_spacing, which from_config passes on to every
    // class.
    auto saved = sd15_config();
    saved["timestep_spacing"] = "leading";
    saved["_class_name"] = "PNDMScheduler";
    saved["prediction_type"] = "epsilon";
    saved["trained_betas"] = nullptr;
    EXPECT_EQ(make("euler", DiffusersSchedulerConfig::from_json(saved).options)->timestep_spacing(),
              TimestepSpacing::leading);

    auto clipped = sd15_config();
    clipped["clip_sample"] = true;
    EXPECT_THROW(DiffusersSchedulerConfig::from_json(clipped), Error);
    auto unknown = sd15_config();
    unknown["solver_order"] = 3;
    EXPECT_THROW(DiffusersSchedulerConfig::from_json(unknown), Error);
    auto v_pred = sd15_config();
    v_pred["prediction_type"] = "v_prediction";
    EXPECT_THROW(DiffusersSchedulerConfig::from_json(v_pred), Error);
    EXPECT_THROW(DiffusersSchedulerConfig::from_json(nlohmann::json::array()), Error);
}

// ---- error paths ------------------------------------------------------------------------------------------

TEST(Scheduler, ErrorPathsTeach) {
    const auto x = torch::zeros({1, 4, 2, 2});
    EXPECT_THROW(make("plms"), Error);
    try {
        make("heun");
        FAIL() << "unknown sampler accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("ddim, dpmpp_2m, euler"), std::string::npos) << e.what();
    }
    EXPECT_EQ(scheduler_names(), (std::vector<std::string>{"ddim", "dpmpp_2m", "euler"}));

    for (const auto& name : scheduler_names()) {
        SCOPED_TRACE(name);
        auto s = make(name);
        EXPECT_FALSE(s->has_timesteps());
        EXPECT_THROW(s->step(x, 0, x), Error);  // before set_timesteps
        EXPECT_THROW(s->scale_model_input(x, 0), Error);
        EXPECT_THROW(s->timestep(0), Error);
        EXPECT_THROW(s->set_timesteps(0), Error);
        EXPECT_THROW(s->set_timesteps(1001), Error);
        s->set_timesteps(10);
        EXPECT_THROW(s->step(x, 10, x), Error);  // index out of range
        EXPECT_THROW(s->step(x, -1, x), Error);
        EXPECT_THROW(s->timestep(10), Error);
        EXPECT_THROW(s->scale_model_input(x, 10), Error);
        EXPECT_THROW(s->step(torch::zeros({1, 4, 2, 3}), 0, x), Error);     // shape mismatch
        EXPECT_THROW(s->step(x, 0, x, torch::zeros({2, 4, 2, 2})), Error);  // noise shape
        EXPECT_NO_THROW(s->step(x, 0, x));
    }

    // Multistep state: DPM-Solver++ steps must follow each other; set_timesteps starts over.
    auto dpm = make("dpmpp_2m");
    dpm->set_timesteps(10);
    dpm->step(x, 3, x);  // the first step may start anywhere (img2img)
    EXPECT_THROW(dpm->step(x, 5, x), Error);
    EXPECT_THROW(dpm->step(x, 3, x), Error);
    EXPECT_NO_THROW(dpm->step(x, 4, x));
    dpm->set_timesteps(10);
    EXPECT_NO_THROW(dpm->step(x, 0, x));

    // Options a sampler does not have are errors, not silently ignored.
    SchedulerOptions karras;
    karras.use_karras_sigmas = true;
    EXPECT_THROW(make("ddim", karras), Error);
    SchedulerOptions eta;
    eta.eta = 0.5;
    EXPECT_THROW(make("euler", eta), Error);
    EXPECT_THROW(make("dpmpp_2m", eta), Error);
    SchedulerOptions alpha_one;
    alpha_one.set_alpha_to_one = true;
    EXPECT_THROW(make("euler", alpha_one), Error);
    SchedulerOptions bad_eta;
    bad_eta.eta = 1.5;
    EXPECT_THROW(make("ddim", bad_eta), Error);
    EXPECT_THROW(parse_timestep_spacing("uniform"), Error);
    EXPECT_THROW(make("euler")->init_noise_sigma(), Error);  // depends on the step count
}

TEST(Scheduler, RandomnessOnlyFromTheCallersNoiseOrGenerator) {
    const auto x = torch::randn({1, 4, 4, 4});
    SchedulerOptions eta;
    eta.eta = 1.0;
    auto stochastic = make("ddim", eta);
    stochastic->set_timesteps(10);
    EXPECT_TRUE(stochastic->stochastic());
    EXPECT_THROW(stochastic->step(x, 0, x), Error);  // no silent global RNG

    // Same seed, same result; the global RNG plays no part.
    auto g1 = at::make_generator<at::CPUGeneratorImpl>(7), g2 = at::make_generator<at::CPUGeneratorImpl>(7);
    torch::manual_seed(1);
    const auto a = stochastic->step(x, 0, x, g1);
    torch::manual_seed(2);
    const auto b = stochastic->step(x, 0, x, g2);
    EXPECT_TRUE(torch::equal(a, b));

    // A deterministic sampler does not draw: the generator's stream is untouched.
    auto deterministic = make("ddim");
    deterministic->set_timesteps(10);
    auto used = at::make_generator<at::CPUGeneratorImpl>(3),
         fresh = at::make_generator<at::CPUGeneratorImpl>(3);
    EXPECT_TRUE(torch::equal(deterministic->step(x, 0, x, used), deterministic->step(x, 0, x)));
    EXPECT_TRUE(torch::equal(torch::randn({8}, used), torch::randn({8}, fresh)));
}

}  // namespace
}  // namespace stablepose
