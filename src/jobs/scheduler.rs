//! Starts every job on its cron schedule (tokio-cron-scheduler).

use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler};

use super::{JobName, Jobs};

pub async fn start(jobs: Arc<Jobs>) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    for name in JobName::ALL {
        let jobs = jobs.clone();
        let schedule = jobs.schedule(name);
        let job = Job::new_async(schedule.as_str(), move |_, _| {
            let jobs = jobs.clone();
            Box::pin(async move {
                jobs.run(name, chrono::Utc::now().naive_utc()).await;
            })
        })?;
        scheduler.add(job).await?;
    }
    scheduler.start().await?;
    Ok(scheduler)
}
